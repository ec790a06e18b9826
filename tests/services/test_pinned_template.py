"""A running project keeps the template it started with. A template file edited in place (same id and
version, which the README forbids but an operator may do) changes nothing for it: the pinned copy, as its
first event recorded it, decides what is checked, shown and hidden."""

from __future__ import annotations

import shutil
from pathlib import Path

from services.app import Coopflow
from templates import TemplateRegistry
from templates.loader import BUILTIN_DIR
from tests.utils.app import LEAD, PARTNERS, actor
from tests.utils.scenario import SAMPLE_DATA

SUMMARY = "          - {name: summary, type: text, required: true,"


async def test_an_edited_template_file_changes_nothing_for_a_running_project(app: Coopflow, tmp_path: Path):
    folder = tmp_path / "templates"
    folder.mkdir()
    path = folder / "pinned.v1.yaml"
    shutil.copy(BUILTIN_DIR / "cooperation.v3.yaml", path)
    text = path.read_text().replace("id: cooperation\n", "id: pinned-test\n", 1)
    path.write_text(text)
    app.templates = TemplateRegistry(folder)
    project = await app.start_project(actor(app, LEAD), title="Pinned", partners=PARTNERS, template="pinned-test")
    # the file is edited in place and the web restarted: a new required field, a new step title
    assert SUMMARY in text
    path.write_text(text.replace(SUMMARY, "          - {name: extra, type: text, required: true, label: {en: Extra}}\n"
                                 + SUMMARY, 1).replace("Funding application", "Edited title", 1))
    app.templates = TemplateRegistry(folder)
    assert app.templates.get("pinned-test", 3).phases[0].steps[0].form[0].name == "extra"
    pinned = app.template_of(app.show_project(actor(app, LEAD), project["id"]))
    assert pinned.phases[0].steps[0].form[0].name == "summary"
    task = next(t for t in project["tasks"] if t["status"] == "open")
    done = await app.complete_task(actor(app, task["assignee"]), project["id"], task["id"],
                                   data=dict(SAMPLE_DATA[task["step"]]))
    assert done["status"] == "completed"
    shown = app.show_project(actor(app, LEAD), project["id"])
    assert "Edited title" not in str(shown)
