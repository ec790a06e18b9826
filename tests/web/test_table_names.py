"""The expert day's tables name their host organisations as people know them ("Caritas Srbija", in any case,
spaces around it) as well as by id; the trail keeps the id. The form's hint offers the names, never ids, and a
name of no organisation is refused naming its line, in the reader's language."""

from __future__ import annotations

from contextlib import AsyncExitStack
from html import unescape

import pytest

from tests.utils.app import LEAD, PARTNERS, actor
from tests.web.conftest import Live
from tests.web.test_new_templates import Browsers, _hidden
from web.i18n import catalog

CARITAS, HORIZON, DIFFERENT = PARTNERS


async def _up_to_tables(b: Browsers) -> str:
    pid = await b.start("expert-day")
    await b.submit(pid, "plan_day", {"day_date": "2027-03-10", "venue": "Rathaus", "target_audience": "All"})
    return pid


@pytest.mark.parametrize("lang", ["en", "mk"])
async def test_tables_typed_with_the_organisations_names_go_to_those_organisations(live: Live, lang: str):
    app = live.coopflow
    async with AsyncExitStack() as stack:
        b = Browsers(live, stack, lang=lang)
        pid = await _up_to_tables(b)
        task = b.open(pid, "define_tables")["id"]
        form = unescape((await (await b.of(LEAD)).get(f"/projects/{pid}/tasks/{task}")).text)
        hint = form.split(catalog(lang)["assignments_hint"])[1].split("</small>")[0]
        names = app.org_names()
        assert all(names[org] in hint for org in [LEAD, *PARTNERS]) and "<code>" not in hint
        assert not [org for org in [LEAD, *PARTNERS] if org in hint], hint  # names, not ids
        typed = f"  caritas SRBIJA | Stanovanje\n{names[HORIZON].upper()} | Work | 2030-01-31\n{DIFFERENT} | Health"
        await b.submit(pid, "define_tables", {"tables": typed})
    tables = next(t for t in app.show_project(actor(app, LEAD), pid)["tasks"] if t["step"] == "define_tables")
    assert [(e["org"], e["title"]) for e in tables["data"]["tables"]] == [
        (CARITAS, "Stanovanje"), (HORIZON, "Work"), (DIFFERENT, "Health")]


@pytest.mark.parametrize(("lang", "said"), [("en", "line 2: does not name one of the organisations offered"),
                                            ("sr", "red 2: ne navodi nijednu od ponuđenih organizacija")])
async def test_a_table_naming_no_organisation_is_refused_naming_its_line(live: Live, lang: str, said: str):
    async with AsyncExitStack() as stack:
        b = Browsers(live, stack, lang=lang)
        pid = await _up_to_tables(b)
        lead = await b.of(LEAD)
        task = b.open(pid, "define_tables")["id"]
        typed = "Caritas Srbija | Housing\nCaritas Serbia | Work"
        page = await lead.post(f"/projects/{pid}/tasks/{task}", data={
            "csrf": _hidden((await lead.get("/projects/new")).text, "csrf"), "tables": typed})
        text = unescape(page.text)
        assert page.status_code == 422 and said in text, text[-3000:]
        assert f">{typed}</textarea>" in text  # kept as typed, names and all
    assert b.open(pid, "define_tables")["status"] == "open"
