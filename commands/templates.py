"""`coopflow templates`: the installed templates, and `templates check FILE` for a new one."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from commands.common import JsonOpt, output
from domain import TemplateError
from settings import get_settings
from templates import TemplateRegistry, load_template_file

templates_app = typer.Typer(invoke_without_command=True)


@templates_app.callback()
def templates(ctx: typer.Context, json_: JsonOpt = False) -> None:
    """The templates projects can start from: the built-in ones and those of COOPFLOW_TEMPLATE_DIRS.
    `coopflow templates check FILE` validates a template file."""
    if ctx.invoked_subcommand is not None:
        return
    found = [t.summary() for t in TemplateRegistry(*get_settings().template_dirs).all_latest()]
    output(json_, found, lambda ts: "\n".join(
        f"{t['id']} v{t['version']}  {t['title'].get('en', '')}: {' → '.join(t['phases'])}" for t in ts))


@templates_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A template file (YAML).")],
    json_: JsonOpt = False,
) -> None:
    """Validate one template file: exit 0 if it is a template, else exit 1 naming each problem by its path."""
    try:
        template = load_template_file(file)
    except TemplateError as exc:
        if json_:
            output(True, {"ok": False, "file": str(file), "problems": exc.problems}, "")
        else:
            sys.stderr.write(f"{file}: not a valid template\n" + "".join(f"  {p}\n" for p in exc.problems))
        raise typer.Exit(1) from None
    steps = sum(1 for _ in template.steps())
    output(json_, {"ok": True, "file": str(file), "id": template.id, "version": template.version,
                   "phases": len(template.phases), "steps": steps},
           f"{file}: template {template.id} version {template.version}, {len(template.phases)} phases, "
           f"{steps} steps: valid")
