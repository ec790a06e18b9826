"""expert-day and return-referral in the browser's pages: chosen on the new-project page, every task
completed through its form (tables and actions typed one a line, the partner picked from a list),
and every page in every language without an untranslated key or a raw step key."""

from __future__ import annotations

import re
from contextlib import AsyncExitStack
from html import unescape
from typing import Any

import httpx
import pytest

from services.seed import demo_email
from templates import TemplateRegistry
from tests.utils.app import LEAD, PARTNERS, actor
from tests.web.conftest import Live, http_login
from web.i18n import LANGUAGES, MISSING

MARK = MISSING.split("{}")[0]
CARITAS, HORIZON, DIFFERENT = PARTNERS
TEMPLATES = TemplateRegistry()


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)  # type: ignore[union-attr]


class Browsers:
    """One logged-in HTTP client per organisation, as each organisation's user in their browser."""

    def __init__(self, live: Live, stack: AsyncExitStack, lang: str = "en") -> None:
        self.live, self.stack, self.lang, self.clients = live, stack, lang, {}

    async def of(self, org: str) -> httpx.AsyncClient:
        if org not in self.clients:
            client = await self.stack.enter_async_context(
                httpx.AsyncClient(base_url=self.live.url, cookies={"coopflow_lang": self.lang}))
            await http_login(client, demo_email("audit-office" if org == "auditor" else org), self.lang)
            self.clients[org] = client
        return self.clients[org]

    async def start(self, template: str) -> str:
        http = await self.of(LEAD)
        page = await http.get("/projects/new")
        done = await http.post("/projects/new", data={
            "csrf": _hidden(page.text, "csrf"), "title": f"A {template} project", "template": template,
            "partners": PARTNERS, "report_count": "", "report_every": "P1M"})
        assert done.status_code == 303, done.text
        return done.headers["location"].rsplit("/", 1)[1]

    def open(self, pid: str, step: str, org: str | None = None) -> dict[str, Any]:
        (task,) = [t for t in self.live.coopflow.show_project(actor(self.live.coopflow, LEAD), pid)["tasks"]
                   if t["step"] == step and t["status"] == "open" and org in (None, t["assignee"])]
        return task

    async def submit(self, pid: str, step: str, data: dict[str, Any], outcome: str | None = None,
                     org: str | None = None) -> None:
        task = self.open(pid, step, org)
        http = await self.of(task["assignee"])
        page = await http.get(f"/projects/{pid}/tasks/{task['id']}")
        assert page.status_code == 200 and MARK not in page.text
        form = {"csrf": _hidden(page.text, "csrf"), "request_id": _hidden(page.text, "request_id"), **data}
        if outcome:
            form["outcome"] = outcome
        done = await http.post(f"/projects/{pid}/tasks/{task['id']}", data=form)
        assert done.status_code == 303, (step, re.findall(r'class="alert"[^>]*>([^<]*)', done.text))


async def test_both_templates_from_start_to_end_through_the_pages(live: Live):
    async with AsyncExitStack() as stack:
        b = Browsers(live, stack)
        new = await (await b.of(LEAD)).get("/projects/new")
        for template in TEMPLATES.all_latest():
            assert template.title["en"] in unescape(new.text) and template.description["en"] in unescape(new.text)

        pid = await b.start("expert-day")
        await b.submit(pid, "plan_day", {"day_date": "2027-03-10", "venue": "Rathaus", "target_audience": "All"})
        for org in PARTNERS:
            await b.submit(pid, "confirm_speaker", {"speaker": "N. N.", "topic": "Housing"}, org=org)
        await b.submit(pid, "define_tables", {"tables": f"{CARITAS} | Housing\n{HORIZON} | Work | 2030-01-31"})
        await b.submit(pid, "hold_day", {"held_on": "2027-03-10", "participants": "40"})
        await b.submit(pid, "table_results", {"results": "Proposals"}, org=CARITAS)
        await b.submit(pid, "table_results", {"results": "Proposals"}, org=HORIZON)
        await b.submit(pid, "documentation", {"summary": "Documented"})
        await b.submit(pid, "define_actions", {"actions": f"{DIFFERENT} | Hotline\n{LEAD} | Press release"})
        await b.submit(pid, "follow_up_action", {"what_was_done": "Running"}, org=DIFFERENT)
        await b.submit(pid, "review_action", {}, "done")
        await b.submit(pid, "follow_up_action", {"what_was_done": "Published"}, org=LEAD)
        await b.submit(pid, "review_action", {}, "done")
        assert live.coopflow.show_project(actor(live.coopflow, LEAD), pid)["status"] == "completed"

        pid = await b.start("return-referral")
        await b.submit(pid, "record_consent", {"person_name": "Ana P.", "consent": "true",
                                               "consent_on": "2026-11-04"})
        await b.submit(pid, "refer", {"partner": CARITAS, "needs": "Housing"})
        await b.submit(pid, "accept_referral", {"comment": "Full"}, "decline")
        await b.submit(pid, "refer", {"partner": HORIZON, "needs": "Housing"})
        await b.submit(pid, "accept_referral", {}, "accept")
        await b.submit(pid, "reintegration_plan", {"plan": "Flat"})
        await b.submit(pid, "follow_up_3_months", {"situation": "Working"})
        await b.submit(pid, "follow_up_6_months", {"situation": "Settled"})
        await b.submit(pid, "closure", {"summary": "Reintegrated"})
        assert live.coopflow.show_project(actor(live.coopflow, LEAD), pid)["status"] == "completed"
        # the referral's page shows the consent it comes after: the person's name only to those involved
        refer = [t for t in live.coopflow.show_project(actor(live.coopflow, LEAD), pid)["tasks"]
                 if t["step"] == "refer"][-1]
        for org, sees in ((DIFFERENT, False), (CARITAS, False), (HORIZON, True), (LEAD, True)):
            page = (await (await b.of(org)).get(f"/projects/{pid}/tasks/{refer['id']}")).text
            assert ("Ana P." in page) is sees and "consent_on" not in page, org


@pytest.mark.parametrize("lang", list(LANGUAGES))
async def test_every_page_of_the_new_templates_in_every_language(live: Live, lang: str):
    async with AsyncExitStack() as stack:
        b = Browsers(live, stack, lang)
        day = await b.start("expert-day")
        await b.submit(day, "plan_day", {"day_date": "2027-03-10", "venue": "Rathaus", "target_audience": "All"})
        referral = await b.start("return-referral")
        await b.submit(referral, "record_consent", {"person_name": "Ana P.", "consent": "true",
                                                    "consent_on": "2026-11-04"})
        lead = await b.of(LEAD)
        pages = {"new": await lead.get("/projects/new"),
                 "tables": await lead.get(f"/projects/{day}/tasks/{b.open(day, 'define_tables')['id']}"),
                 "refer": await lead.get(f"/projects/{referral}/tasks/{b.open(referral, 'refer')['id']}"),
                 "day": await lead.get(f"/projects/{day}"), "referral": await lead.get(f"/projects/{referral}"),
                 "refused": await lead.post(f"/projects/{day}/tasks/{b.open(day, 'define_tables')['id']}", data={
                     "csrf": _hidden((await lead.get("/projects/new")).text, "csrf"), "tables": "nobody"})}
    keys = {s.key for t in TEMPLATES.all_latest() for _, s in t.steps() if "_" in s.key}
    for name, page in pages.items():
        assert page.status_code in (200, 422) and f'<html lang="{lang}">' in page.text, name
        assert MARK not in page.text, (lang, name)
        text = re.sub(r"<(script|style|code)\b.*?</\1>|<[^>]+>", " ", page.text, flags=re.S)
        assert not [k for k in keys if re.search(rf"\b{k}\b", text)], (lang, name)
    assert pages["refused"].status_code == 422
    for template in TEMPLATES.all_latest():
        assert template.title[lang] in unescape(pages["new"].text)
        assert template.description[lang] in unescape(pages["new"].text)


async def test_the_inbox_names_a_tables_topic_not_a_report_number(live: Live):
    """A thematic table's results are a task per table: the inbox names each by its topic."""
    async with AsyncExitStack() as stack:
        b = Browsers(live, stack, lang="sr")
        pid = await b.start("expert-day")
        await b.submit(pid, "plan_day", {"day_date": "2027-03-10", "venue": "Rathaus", "target_audience": "All"})
        for org in PARTNERS:
            await b.submit(pid, "confirm_speaker", {"speaker": "N. N.", "topic": "Housing"}, org=org)
        await b.submit(pid, "define_tables", {"tables": f"{CARITAS} | Stanovanje\n{HORIZON} | Work | 2030-01-31"})
        await b.submit(pid, "hold_day", {"held_on": "2027-03-10", "participants": "40"})
        inbox = (await (await b.of(CARITAS)).get("/inbox", params={"lang": "sr"})).text
        row = next(r for r in inbox.split("<tr ")[1:] if f'data-project="{pid}"' in r)
        assert '<span class="tag">Stanovanje</span>' in row and "Izveštaj" not in row, row


@pytest.mark.parametrize(("lang", "said"), [("en", "line 2: is not written 'organisation | title | YYYY-MM-DD'"),
                                            ("sr", "red 2: nije napisano kao 'organizacija | naslov | GGGG-MM-DD'")])
async def test_a_table_typed_wrong_names_its_line(live: Live, lang: str, said: str):
    async with AsyncExitStack() as stack:
        b = Browsers(live, stack, lang=lang)
        pid = await b.start("expert-day")
        await b.submit(pid, "plan_day", {"day_date": "2027-03-10", "venue": "Rathaus", "target_audience": "All"})
        for org in PARTNERS:
            await b.submit(pid, "confirm_speaker", {"speaker": "N. N.", "topic": "Housing"}, org=org)
        lead = await b.of(LEAD)
        task = b.open(pid, "define_tables")["id"]
        page = await lead.post(f"/projects/{pid}/tasks/{task}", params={"lang": lang}, data={
            "csrf": _hidden((await lead.get("/projects/new")).text, "csrf"),
            "tables": f"{CARITAS} | Housing\n{HORIZON} Work without a bar"})
        assert page.status_code == 422 and said in unescape(page.text), unescape(page.text)[-3000:]
