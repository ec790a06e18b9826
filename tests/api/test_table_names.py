"""Over the API too, an organisation in an assignments field is named by its id or by its name (any case,
spaces around it), in a list of entries or in lines; the trail keeps the id, and a name of no organisation is
refused naming its entry."""

from __future__ import annotations

import httpx

from services.app import Coopflow
from tests.api.conftest import auth
from tests.utils.app import actor

LEAD, CARITAS, HORIZON, DIFFERENT = "stadt-dortmund", "caritas-rs", "horizon-civitas-mk", "different-and-equal-al"


async def test_assignments_name_organisations_by_name_or_id(app: Coopflow, http: httpx.AsyncClient,
                                                             tokens: dict[str, str]):
    lead = auth(tokens[LEAD])
    started = await http.post("/api/projects", headers=lead, json={
        "template": "expert-day", "title": "Expert day", "partners": [CARITAS, HORIZON, DIFFERENT]})
    assert started.status_code == 201, started.text
    pid = started.json()["id"]

    def open_task(step: str) -> str:
        return next(t["id"] for t in app.show_project(actor(app, LEAD), pid)["tasks"]
                    if t["step"] == step and t["status"] == "open")

    async def complete(task: str, data: dict[str, object]) -> httpx.Response:
        return await http.post(f"/api/projects/{pid}/tasks/{task}/complete", headers=lead, json={"data": data})

    assert (await complete(open_task("plan_day"), {"day_date": "2027-03-10", "venue": "Rathaus",
                                                   "target_audience": "All"})).status_code == 200
    tables = open_task("define_tables")
    unknown = await complete(tables, {"tables": [{"org": "Caritas Srbija", "title": "Housing"},
                                                 {"org": "Caritas Serbia", "title": "Work"}]})
    assert unknown.status_code == 422, unknown.text
    assert "organisation" in unknown.json()["error"]["details"]["tables"], unknown.text
    lines = await complete(tables, {"tables": "Caritas Srbija | Housing\nCaritas Serbia | Work"})
    assert lines.status_code == 422 and lines.json()["error"]["details"]["tables"].startswith("line 2:"), lines.text
    done = await complete(tables, {"tables": [{"org": " caritas srbija ", "title": "Housing"},
                                              {"org": "Horizon Civitas", "title": "Work", "due": "2030-01-31"},
                                              {"org": DIFFERENT, "title": "Health"}]})
    assert done.status_code == 200, done.text
    assert [(e["org"], e["title"]) for e in done.json()["data"]["tables"]] == [
        (CARITAS, "Housing"), (HORIZON, "Work"), (DIFFERENT, "Health")]

