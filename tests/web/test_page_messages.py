"""A page's message boxes say only what the server chose: a link cannot put its own text in them (a phishing
page on our domain), while a refusal still says why, in the reader's language."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, unquote_plus

import httpx

from services.seed import demo_email
from tests.utils.app import LEAD, start
from tests.web.conftest import Live, http_login

PHISH = "Your session expired. Re-enter your password at http://evil.example/login"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def boxes(html: str) -> str:
    """What the page's message boxes (alerts and notices) say."""
    return " | ".join(re.findall(r'<p class="(?:alert|notice)"[^>]*>(.*?)</p>', html, re.S))


def phished(html: str) -> bool:
    said = boxes(html)
    return "evil.example" in said or "session expired" in said


async def test_text_from_a_link_is_never_a_pages_message(live: Live):
    pid = (await start(live.coopflow))["id"]
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD))
        shown = {}
        audit = f"/projects/{pid}/audit"
        for path, name in ((f"/projects/{pid}", "problem"), ("/inbox", "done"), (audit, "actor_email"),
                           (audit, "type"), (audit, "since")):
            page = await http.get(path, params={name: PHISH})
            assert page.status_code == 200
            shown[f"{path}?{name}="] = boxes(page.text)
        # a path segment that names no project is not repeated by the page either
        page = await http.get(f"/projects/{quote('Session expired: log in at evil.example')}/personal-data")
        shown["/projects/…/personal-data"] = re.sub(r"<[^>]+>", " ", page.text.split("<main>")[-1])
        print("\n".join(f"{k} shows: {v.strip()[:120]}" for k, v in shown.items()))
        assert not [k for k, v in shown.items() if "evil.example" in v or "ession expired" in v], shown


async def test_a_refusal_that_repeats_what_a_form_sent_is_shown_to_that_session_only(live: Live):
    """A change of an unknown kind is refused repeating the kind the form sent: whoever sent it reads it, and
    a link to that page sent to someone else shows nothing (its message is signed for the one session)."""
    pid = (await start(live.coopflow))["id"]
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD))
        csrf = csrf_of((await http.get(f"/projects/{pid}")).text)
        refused = await http.post(f"/projects/{pid}/changes", data={"csrf": csrf, "kind": PHISH, "reason": "x"})
        assert refused.status_code == 303
        link = refused.headers["location"]
        assert "evil.example" not in unquote(link) and "session expired" not in unquote(link), link
        mine = await http.get(link)
        assert "is not a change" in boxes(mine.text) and "evil.example" in boxes(mine.text)
        tampered = await http.get(link.replace("problem=", "problem=x"))
        assert boxes(tampered.text) == "", boxes(tampered.text)
    async with httpx.AsyncClient(base_url=live.url) as victim:
        await http_login(victim, demo_email(LEAD))
        page = await victim.get(link)
        assert page.status_code == 200 and not phished(page.text) and "is not a change" not in boxes(page.text)


async def test_a_refused_change_still_says_why_in_two_languages(live: Live):
    pid = (await start(live.coopflow))["id"]
    task = next(t for t in live.coopflow.show_project(
        live.coopflow.actor_for_email(demo_email(LEAD)), pid)["tasks"] if t["status"] == "open")
    for lang, said, word in (("en", "Say why: the reason goes into the audit trail.", "audit trail"),
                             ("de", "Bitte eine Begründung angeben: Sie wird im Prüfpfad festgehalten.", "Prüfpfad")):
        async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}) as http:
            await http_login(http, demo_email(LEAD), lang)
            csrf = csrf_of((await http.get(f"/projects/{pid}")).text)
            refused = await http.post(f"/projects/{pid}/changes", data={
                "csrf": csrf, "kind": "extend_deadline", "task_id": task["id"], "due_date": "2099-01-01",
                "reason": " "})
            assert refused.status_code == 303 and word not in unquote_plus(refused.headers["location"])
            page = await http.get(refused.headers["location"])
            assert boxes(page.text) == said, boxes(page.text)
