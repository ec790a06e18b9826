"""Writes docs/cli.md and docs/api.md from the code: the Typer commands and the OpenAPI description.

    .venv/bin/python scripts/gen_docs.py          # rewrite both
    .venv/bin/python scripts/gen_docs.py --check  # exit 1 if either is out of date (make test runs it)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cli_reference() -> str:
    from cli import app

    root = typer.main.get_command(app)
    lines = ["# Command line reference", "",
             "Generated from the code by `scripts/gen_docs.py`; `coopflow COMMAND --help` says the same.",
             "Every command reads the `COOPFLOW_*` settings (see the README) and takes `--json`.", ""]

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):  # a group (Typer carries its own copy of click)
            if getattr(command, "invoke_without_command", False) and len(path) > 1:
                describe(command, path)  # a group that is a command too (`coopflow templates`)
            for name in sorted(command.commands):
                walk(command.commands[name], [*path, name])
            return
        describe(command, path)

    def describe(command: Any, path: list[str]) -> None:
        usage = " ".join(command.collect_usage_pieces(command.context_class(command, info_name=" ".join(path))))
        lines.extend([f"## `{' '.join(path)}`", "", (command.help or "").strip(), "", "```",
                      f"{' '.join(path)} {usage}".rstrip(), "```", ""])
        rows = []
        for param in command.params:
            if param.param_type_name == "argument":
                rows.append(((param.metavar or param.name.upper()).strip("{}"), "argument", "required"))
            elif param.param_type_name == "option" and param.name != "help":
                shown = ", ".join(param.opts)
                default = "required" if param.required else (
                    "" if param.default in (None, False, "", ()) else f"{param.default}")
                rows.append((shown, (param.help or "").replace("|", "\\|").replace("\n", " "), default))
        if rows:
            lines.extend(["| option | meaning | default |", "|---|---|---|"])
            lines.extend(f"| `{a}` | {b} | {c} |" for a, b, c in rows)
            lines.append("")

    walk(root, ["coopflow"])
    return "\n".join(lines).rstrip() + "\n"


def api_reference() -> str:
    from web.app import create_app

    spec = create_app(secret="docs").openapi()  # noqa: S106 - signs nothing: only the description is read
    lines = ["# HTTP API reference", "",
             "Generated from the OpenAPI description by `scripts/gen_docs.py`; the running app serves it at",
             "`/api/openapi.json` and as interactive docs at `/api/docs`. Every route but the health checks",
             "needs `Authorization: Bearer <token>`; errors have the body",
             '`{"error": {"code", "message", "details"}}` (codes in the README).', ""]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            lines.extend([f"## `{method.upper()} {path}`", ""])
            text = (op.get("description") or op.get("summary") or "").strip()
            if text:
                lines.extend([text, ""])
            params = [p for p in op.get("parameters", []) if p.get("in") in ("query", "header")]
            if params:
                lines.append("Parameters: " + ", ".join(
                    f"`{p['name']}` ({p['in']}{', required' if p.get('required') else ''})" for p in params) + ".")
                lines.append("")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                ref = body.get("$ref", "").rsplit("/", 1)[-1]
                schema = spec["components"]["schemas"].get(ref, {})
                fields = ", ".join(f"`{k}`{' (required)' if k in schema.get('required', []) else ''}"
                                   for k in schema.get("properties", {}))
                lines.extend([f"Body: {ref or 'JSON'}{' — ' + fields if fields else ''}.", ""])
            codes = ", ".join(f"{code} {resp.get('description', '')}".strip()
                              for code, resp in op.get("responses", {}).items())
            lines.extend([f"Answers: {codes}.", ""])
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    outputs = {ROOT / "docs" / "cli.md": cli_reference(), ROOT / "docs" / "api.md": api_reference()}
    if "--check" in sys.argv:
        stale = [p.name for p, text in outputs.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        if stale:
            print(f"out of date: {', '.join(stale)}; run .venv/bin/python scripts/gen_docs.py", file=sys.stderr)
            return 1
        return 0
    for path, text in outputs.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
