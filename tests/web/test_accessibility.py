"""Every page, for every role and in every language, checked by axe-core (WCAG 2.1 A and AA) and on a phone.

One browser, one profile per role (logged in once), the pages walked in a loop. ``PAGES`` lists them: a page
added to the app is added there (a path, or what a person does to reach it, and the roles that see it).
axe-core comes inside the ``axe-playwright-python`` wheel: nothing is downloaded when the test runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.async_api import Browser, BrowserContext, Page
from temporalio.client import Client

from evidence.notes import Signer
from services.app import Coopflow
from services.devstack import MailSink, free_port
from services.sealing import KeyEncryptionKeys
from services.seed import DEMO_PASSWORD, demo_email, seed_demo
from store import make_engine, upgrade
from store.documents import FolderStorage
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.web.a11y_pages import PAGES, ROLES, Visit, World, build_world, refused_report
from web.app import create_app
from web.i18n import LANGUAGES
from web.server import serve
from worker import build_worker

pytestmark = pytest.mark.long(155)  # seconds on 2 cores: started first (tests/conftest.py)

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BEST_PRACTICES = ["region", "landmark-one-main", "landmark-unique", "landmark-no-duplicate-banner",
                  "landmark-no-duplicate-main", "landmark-banner-is-top-level", "landmark-main-is-top-level",
                  "heading-order", "page-has-heading-one", "empty-heading", "skip-link"]
# colours do not change with the language: contrast is measured in one (the slowest rule by far); every
# other rule in all five. COOPFLOW_AXE_CONTRAST=all measures it in every language.
CONTRAST_LANGUAGES = list(LANGUAGES) if os.environ.get("COOPFLOW_AXE_CONTRAST") == "all" else ["en"]
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1200, "height": 900}
# where the walk writes what it found (AXE_REPORT.md is written from it); unset: nowhere
FINDINGS_FILE = os.environ.get("COOPFLOW_AXE_FINDINGS")


@dataclass
class Site:
    url: str
    coopflow: Coopflow


@pytest.fixture
async def site(temporal_client: Client, tmp_path: Path, signer: Signer, document_folder: FolderStorage,
               key_encryption_keys: KeyEncryptionKeys) -> AsyncIterator[Site]:
    """The web app as `coopflow dev` serves it (with /dev/mail, one mail in it), on a store of its own: the
    pages show what this test made, however many tests ran before it, and the demo users' languages it
    switches are nobody else's."""
    engine = make_engine(f"sqlite:///{tmp_path / 'a11y.db'}")
    upgrade(engine)
    seed_demo(engine)
    task_queue = f"tq-{uuid.uuid4()}"
    coopflow = Coopflow(engine=engine, client=temporal_client, task_queue=task_queue, signer=signer,
                        documents=document_folder, key_encryption_keys=key_encryption_keys)
    sink = MailSink()
    sink.received.append({"message_id": "<1@coopflow>", "to": demo_email(PARTNERS[0]), "lang": "en",
                          "subject": "Your turn: Letter of intent", "date": "Fri, 04 Dec 2026 10:00:00 +0000",
                          "body": "Caritas Srbija, the letter of intent is yours.\n\nOpen it: http://127.0.0.1/inbox"})
    port, stop = free_port(), asyncio.Event()
    async with build_worker(temporal_client, engine, task_queue, signer=signer, documents=document_folder):
        server = asyncio.create_task(serve(create_app(coopflow=coopflow, secret="a11y-test", mail_sink=sink),
                                           "127.0.0.1", port, stop))
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    if (await probe.get(url + "/login")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield Site(url, coopflow)
        stop.set()
        await server
    engine.dispose()


async def signed_in_context(chromium: Browser, url: str, org: str | None) -> BrowserContext:
    """A browser profile with axe-core in every page it opens, logged in as ``org``'s demo user."""
    context = await chromium.new_context(viewport=DESKTOP, locale="en-GB")
    await context.add_init_script(script=AXE_SCRIPT)
    if org is not None:
        page = await context.new_page()
        await page.goto(url + "/login")
        await page.fill("input[name=email]", demo_email(org))
        await page.fill("input[name=password]", DEMO_PASSWORD)
        async with page.expect_navigation():
            await page.click("main button[type=submit]")
        await page.close()
    return context


@dataclass
class Findings:
    """What axe and the phone check found, by rule: the pages (role, language) where, and how many nodes."""

    axe: dict[str, dict[str, Any]] = field(default_factory=dict)
    sideways: list[str] = field(default_factory=list)
    walked: int = 0

    def add(self, where: str, violations: list[dict[str, Any]]) -> None:
        for v in violations:
            rule = self.axe.setdefault(v["id"], {"impact": v["impact"], "help": v["help"], "nodes": 0,
                                                 "pages": defaultdict(int), "example": v["nodes"][0]["html"][:200]})
            rule["nodes"] += len(v["nodes"])
            rule["pages"][where] += len(v["nodes"])

    def summary(self) -> str:
        lines = [f"{rule} ({r['impact']}): {r['nodes']} nodes on {len(r['pages'])} pages — {r['help']}\n"
                 f"    e.g. {r['example']}\n    pages: {', '.join(sorted(r['pages']))[:600]}"
                 for rule, r in sorted(self.axe.items())]
        return "\n".join(lines + self.sideways)


PHONE_CHECK = """() => {
  const header = document.querySelector("header.top");
  const out = header ? [...header.querySelectorAll("a, button, select, span, label")]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.outerHTML.slice(0, 80)) : [];
  return {wide: document.scrollingElement.scrollWidth, inner: innerWidth, out};
}"""


def axe_options(contrast: bool) -> dict[str, Any]:
    """WCAG 2.1 A and AA, and axe's best practices for landmarks and headings; colour contrast if asked."""
    rules = {rule: {"enabled": True} for rule in BEST_PRACTICES}
    return {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"],
            "rules": {**rules, "color-contrast": {"enabled": contrast}}}


async def check(page: Page, where: str, found: Findings, contrast: bool) -> None:
    """axe on the page as it is, then the same page on a phone: nothing wider than the screen, and axe again for
    what the layout changes (what scrolls in a box must be reached by the keyboard; what overlaps, readable)."""
    found.add(where, (await page.evaluate("o => axe.run(document, o)", axe_options(contrast)))["violations"])
    await page.set_viewport_size(PHONE)
    layout = ["scrollable-region-focusable", *(["color-contrast"] if contrast else [])]
    found.add(f"{where} on a phone", (await page.evaluate("o => axe.run(document, o)", {
        "runOnly": {"type": "rule", "values": layout}, "resultTypes": ["violations"]}))["violations"])
    phone = await page.evaluate(PHONE_CHECK)
    if phone["wide"] > phone["inner"] or phone["out"]:
        found.sideways.append(f"{where}: {phone['wide']} px wide at {phone['inner']} px; "
                              f"outside the screen in the header: {phone['out']}")
    await page.set_viewport_size(DESKTOP)
    found.walked += 1


async def walk_role(chromium: Browser, url: str, world: World, role: str, pages: list[Visit],
                    found: Findings) -> None:
    org = ROLES[role]
    context = await signed_in_context(chromium, url, org)
    page = await context.new_page()
    try:
        for lang in LANGUAGES:
            await page.goto(f"{url}/{'inbox' if org else 'login'}?lang={lang}")  # the profile keeps it
            for visit in (v for v in pages if role in v.roles):
                where = f"{visit.name} [{role}, {lang}]"
                await page.goto(url + visit.path.format(**world))
                if visit.act is not None:
                    await visit.act(page, url, world)
                assert await page.evaluate("document.documentElement.lang") == lang, where
                await check(page, where, found, contrast=lang in CONTRAST_LANGUAGES)
    finally:
        await context.close()


async def walk(chromium: Browser, url: str, world: World, pages: list[Visit]) -> Findings:
    """Every page for every role that sees it, in every language: the roles side by side."""
    found = Findings()
    roles = [role for role in ROLES if any(role in v.roles for v in pages)]
    await asyncio.gather(*(walk_role(chromium, url, world, role, pages, found) for role in roles))
    return found


async def test_every_page_for_every_role_and_language_passes_axe_and_fits_a_phone(chromium: Browser, site: Site):
    """Zero WCAG 2.1 A/AA violations on every page of ``PAGES``, for each role that sees it, in all five
    languages, with ``lang`` the page's language; at 375 px no page scrolls sideways and the header fits."""
    world = await build_world(site.coopflow)
    found = await walk(chromium, site.url, world, PAGES)
    if FINDINGS_FILE:
        Path(FINDINGS_FILE).write_text(json.dumps({"walked": found.walked, "axe": found.axe,
                                                   "sideways": found.sideways}, indent=1, default=dict))
    assert found.walked == sum(len(v.roles) for v in PAGES) * len(LANGUAGES)
    assert not found.axe and not found.sideways, found.summary()


async def break_the_page(page: Page, url: str, world: World) -> None:
    """The log-in page broken as a careless change would: a field without its label, a picture without words,
    grey on grey, a block wider than a phone."""
    await page.evaluate("""() => {
      document.querySelector("label[for=f-email]").remove();
      document.querySelector("h1").style.color = "#c8c8c8";
      const img = document.createElement("img"); img.src = "/favicon.ico"; document.querySelector("main").append(img);
      const wide = document.createElement("div"); wide.style.width = "900px"; wide.textContent = "wide";
      document.querySelector("main").append(wide);
    }""")


async def test_the_walk_finds_what_is_wrong(chromium: Browser, site: Site):
    """The checks can fail: on a page broken on purpose axe names each fault, and the phone check the width."""
    found = await walk(chromium, site.url, {}, [Visit("broken log-in", "/login", ("anonymous",), break_the_page)])
    assert found.walked == len(LANGUAGES)
    assert {"label", "image-alt", "color-contrast"} <= set(found.axe), found.summary()
    assert found.axe["label"]["pages"].keys() == {f"broken log-in [anonymous, {lang}]" for lang in LANGUAGES}
    assert len(found.sideways) == len(LANGUAGES), found.sideways


SHOTS = Path(__file__).resolve().parents[2] / "shots"  # gitignored: to look at, never committed


async def test_phone_screenshots_of_the_inbox_a_task_and_a_project(chromium: Browser, site: Site):
    """At 375×667 the inbox, a task (its form refused, the errors shown) and a project page, saved to shots/
    to look at; none scrolls sideways."""
    app = site.coopflow
    project = (await start(app, title="Return and reintegration 2027–2029, counselling in four countries"))["id"]
    await play(app, project, loops=False, until_step="letter_of_intent")
    letter = next(t["id"] for t in app.show_project(actor(app, LEAD), project)["tasks"]
                  if t["step"] == "letter_of_intent" and t["assignee"] == PARTNERS[0])
    SHOTS.mkdir(exist_ok=True)
    widths = {}
    for role, lang in (("partner", "en"), ("coordinator", "de")):
        context = await signed_in_context(chromium, site.url, ROLES[role])
        page = await context.new_page()
        await page.set_viewport_size(PHONE)
        try:
            await page.goto(f"{site.url}/inbox?lang={lang}")
            for name, path, act in (("inbox", "/inbox", None), ("project", f"/projects/{project}", None),
                                    ("task", f"/projects/{project}/tasks/{letter}", refused_report)):
                await page.goto(site.url + path)
                if act is not None and role == "partner":
                    await act(page, site.url, {})
                await page.screenshot(path=str(SHOTS / f"phone-{role}-{name}.png"), full_page=True)
                widths[f"{name} [{role}]"] = await page.evaluate("document.scrollingElement.scrollWidth")
        finally:
            await context.close()
    assert all(wide <= PHONE["width"] for wide in widths.values()), widths
