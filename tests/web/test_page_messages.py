"""A page's message boxes say only what the server chose: a link cannot put its own text in them (a phishing
page on our domain), while a refusal still says why, in the reader's language."""

from __future__ import annotations

import re
from urllib.parse import quote

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


async def test_a_refusal_that_repeats_what_a_form_sent_is_said_only_in_the_answer_to_that_form(live: Live):
    """A change of an unknown kind is refused repeating the kind the form sent: the page that answers the form
    says it, and no URL carries it, so no link can show it to anyone else."""
    pid = (await start(live.coopflow))["id"]
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD))
        csrf = csrf_of((await http.get(f"/projects/{pid}")).text)
        refused = await http.post(f"/projects/{pid}/changes", data={"csrf": csrf, "kind": PHISH, "reason": "x"})
        assert refused.status_code == 422 and "location" not in refused.headers
        assert "is not a change" in boxes(refused.text) and "evil.example" in boxes(refused.text)
        again = await http.get(f"/projects/{pid}")
        assert boxes(again.text) == "", boxes(again.text)


async def test_a_refused_change_still_says_why_in_two_languages(live: Live):
    pid = (await start(live.coopflow))["id"]
    task = next(t for t in live.coopflow.show_project(
        live.coopflow.actor_for_email(demo_email(LEAD)), pid)["tasks"] if t["status"] == "open")
    for lang, said in (("en", "Say why: the reason goes into the audit trail."),
                       ("de", "Bitte eine Begründung angeben: Sie wird im Prüfpfad festgehalten.")):
        async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}) as http:
            await http_login(http, demo_email(LEAD), lang)
            csrf = csrf_of((await http.get(f"/projects/{pid}")).text)
            refused = await http.post(f"/projects/{pid}/changes", data={
                "csrf": csrf, "kind": "extend_deadline", "task_id": task["id"], "due_date": "2099-01-01",
                "reason": " "})
            assert refused.status_code == 422 and "location" not in refused.headers
            reason = refused.text.split('id="change-extend_deadline"')[1].split('data-field="reason"')[1]
            assert re.search(r'<p class="error"[^>]*>(.*?)</p>', reason).group(1) == said  # type: ignore[union-attr]
