"""Pages that say what they show: one comment box, an as-of that includes the event shown, one rule
for who reads a trail."""

from __future__ import annotations

import html
import re

import httpx

from services.seed import demo_email
from tests.utils.app import LEAD, PARTNERS, actor, play, start
from tests.web.conftest import Live, http_login


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def test_a_decision_whose_form_has_a_comment_field_shows_one_comment_box_and_keeps_it(live: Live):
    app = live.coopflow
    project = await start(app)
    pid = project["id"]
    await play(app, pid, loops=False, until_step="review_agreement")
    review = next(t for t in app.show_project(actor(app, LEAD), pid)["tasks"]
                  if t["step"] == "review_agreement" and t["assignee"] == PARTNERS[0] and t["status"] == "open")
    url = f"/projects/{pid}/tasks/{review['id']}"
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[0]))
        page = await http.get(url)
        assert page.text.count('name="comment"') == 1 and 'name="_comment"' not in page.text
        done = await http.post(url, data={"csrf": csrf_of(page.text), "request_id": "r1",
                                          "comment": "Clause 4 reads well", "outcome": "accept"})
        assert done.status_code == 303, done.text
    task = next(t for t in app.show_project(actor(app, LEAD), pid)["tasks"] if t["id"] == review["id"])
    assert task["data"] == {"comment": "Clause 4 reads well"} and task["outcome"] == "accept"


async def test_as_of_a_moment_to_the_millisecond_includes_the_event_of_that_millisecond(live: Live):
    app = live.coopflow
    project = await start(app)
    events = list(app.list_events(actor(app, "auditor"), project["id"]))
    last = events[-1]
    picked = last["at"][:23]  # what the page's picker shows: milliseconds
    shown = app.show_project(actor(app, "auditor"), project["id"], as_of=picked)
    assert shown["seq"] == last["seq"]


async def test_a_partner_reads_the_trail_on_the_page_as_in_the_api_but_does_not_verify(live: Live):
    app = live.coopflow
    project = await start(app)
    pid = project["id"]
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[0]))
        assert f'href="/projects/{pid}/audit"' in (await http.get(f"/projects/{pid}")).text
        page = await http.get(f"/projects/{pid}/audit", params={"verify": "1"})
        assert page.status_code == 200 and "ProjectStarted" in page.text
        assert 'id="verify-form"' not in page.text and 'id="verify-result"' not in page.text
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(LEAD))
        page = await http.get(f"/projects/{pid}/audit", params={"verify": "1"})
        assert 'id="verify-result"' in page.text


async def test_a_refused_change_says_why_in_the_readers_language(live: Live):
    app = live.coopflow
    project = await start(app)
    pid = project["id"]
    task = next(t for t in project["tasks"] if t["status"] == "open")
    said = {"de": ("Bitte eine Begründung angeben", "Ein Projekt behält mindestens einen Partner"),
            "mk": ("Наведете причина", "Проектот задржува барем еден партнер")}
    for lang, (no_reason, last_partner) in said.items():
        async with httpx.AsyncClient(base_url=live.url, cookies={"coopflow_lang": lang}) as http:
            await http_login(http, demo_email(LEAD), lang)
            csrf = csrf_of((await http.get(f"/projects/{pid}")).text)
            page = await http.post(f"/projects/{pid}/changes", follow_redirects=True, data={
                "csrf": csrf, "kind": "extend_deadline", "task_id": task["id"], "due_date": "2099-01-01",
                "reason": " "})
            assert no_reason in page.text, page.text[-2000:]
            if lang == "de":  # two of three withdraw: the last one may not
                for partner in PARTNERS[1:]:
                    await app.change_project(actor(app, LEAD), pid, kind="withdraw_partner", org=partner,
                                             reason="left")
            page = await http.post(f"/projects/{pid}/changes", follow_redirects=True, data={
                "csrf": csrf, "kind": "withdraw_partner", "org": PARTNERS[0], "reason": "left"})
            assert last_partner in page.text
    assert len(list(app.list_events(actor(app, LEAD), pid, type="PartnerWithdrawn"))) == 2, "refusals wrote nothing"


async def test_the_auditors_landing_page_verifies_a_page_of_projects_at_a_time(live: Live):
    """Each project on it is verified from its first event whenever it is shown: 25 at a time, not
    every project the auditor may audit."""
    import uuid

    from domain import summary_view, task_view
    from store import record_batch
    from tests.utils.domain import Project
    from web.pages import OVERVIEW_PAGE

    for _ in range(OVERVIEW_PAGE + 1):  # more than a page, whatever other tests left in this store
        p = Project(partners=["caritas-rs"])
        p.state = p.state.model_copy(update={"id": f"page-{uuid.uuid4().hex[:8]}"})
        # last changed long ago: they page after the projects other tests in this store look for
        record_batch(live.coopflow.engine, project={**summary_view(p.state), "updated_at": "2001-01-01T00:00:00Z"},
                     events=p.events, tasks=[task_view(p.state, t) for t in p.state.tasks.values()])
    auditor = actor(live.coopflow, "auditor")
    assert live.coopflow.verify(auditor, p.state.id)["ok"]  # whole trails: nothing here looks tampered
    latest = [q["id"] for q in sorted(live.coopflow.list_projects(auditor),
                                      key=lambda q: (q["updated_at"] or "", q["id"]), reverse=True)]
    total = len(latest)
    pages = -(-total // OVERVIEW_PAGE)
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email("audit-office"))
        seen: list[str] = []
        url: str | None = "/inbox"
        for number in range(1, pages + 1):  # Next links with a cursor, to the last page
            assert url is not None
            page = await http.get(url)
            assert page.status_code == 200
            rows = re.findall(r'<tr data-project="([^"]+)" class', page.text)
            assert len(rows) == (OVERVIEW_PAGE if number < pages else total - OVERVIEW_PAGE * (pages - 1))
            assert ('rel="prev"' in page.text) == (number > 1)
            following = re.search(r'<a href="([^"]+)" rel="next">', page.text)
            assert (following is not None) == (number < pages)
            url = html.unescape(following.group(1)) if following else None
            seen += rows
        assert seen == latest  # every project once, the latest changed first
        stale = await http.get("/inbox", params={"projects": "not-a-cursor"})
        assert re.findall(r'<tr data-project="([^"]+)" class', stale.text) == latest[:OVERVIEW_PAGE]  # page one


async def test_the_audit_pages_exports_are_whole_however_long_the_trail(live: Live, monkeypatch, tmp_path):
    """JSONL, CSV and the bundle, as the audit page offers them: written to a file that moves to disk
    once large (here: at once), sent from there, complete; none for an organisation outside."""
    import csv
    import io
    import json

    from evidence.proofs import verify_bundle
    from web import pages_audit

    monkeypatch.setattr(pages_audit, "EXPORT_IN_MEMORY", 64)  # every export rolls over to disk
    app = live.coopflow
    project = await start(app, partners=PARTNERS[:1])
    pid = project["id"]
    await play(app, pid, loops=False, until_step="review_agreement")
    events = list(app.list_events(actor(app, "auditor"), pid))
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email("audit-office"))
        jsonl = await http.get(f"/projects/{pid}/audit/export", params={"format": "jsonl"})
        assert jsonl.status_code == 200 and jsonl.headers["content-type"].startswith("application/x-ndjson")
        assert [json.loads(line) for line in jsonl.text.splitlines()] == events
        assert int(jsonl.headers["content-length"]) == len(jsonl.content)
        table = await http.get(f"/projects/{pid}/audit/export", params={"format": "csv"})
        rows = list(csv.DictReader(io.StringIO(table.text)))
        assert [r["hash"] for r in rows] == [e["hash"] for e in events]
        bundle = await http.get(f"/projects/{pid}/audit/export", params={"format": "bundle"})
        assert 'filename="coopflow-' in bundle.headers["content-disposition"]
        (tmp_path / "p.zip").write_bytes(bundle.content)
        checked = verify_bundle(tmp_path / "p.zip")
        assert checked["ok"] and checked["count"] == len(events), checked
        assert (await http.get(f"/projects/{pid}/audit/export", params={"format": "xml"})).status_code == 404
    async with httpx.AsyncClient(base_url=live.url) as http:
        await http_login(http, demo_email(PARTNERS[1]))  # not in this project
        for kind in ("jsonl", "csv", "bundle"):
            assert (await http.get(f"/projects/{pid}/audit/export", params={"format": kind})).status_code == 404
