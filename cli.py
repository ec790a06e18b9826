"""The `coopflow` command line. Every command takes --json and reads COOPFLOW_* settings."""

from __future__ import annotations

import os
import sys
import traceback

import typer
from sqlalchemy.exc import OperationalError

from commands.admin import org_app, user_app
from commands.audit import audit_app
from commands.db import db_app
from commands.dev import dev, web, worker
from commands.documents import documents_app
from commands.incidents import incident_app
from commands.mail import mail_app
from commands.me import hold, me_app
from commands.personal import personal_app
from commands.projects import project_app, task_app, tasks
from commands.templates import templates_app
from commands.temporal import temporal_app
from commands.witness import witness_app
from domain import DomainError

app = typer.Typer(
    name="coopflow", no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    help="Durable, auditable workflows for transnational cooperation projects.")
app.command()(dev)
app.command()(worker)
app.command()(web)
app.command()(tasks)
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(project_app, name="project")
task_app.command("hold")(hold)
app.add_typer(task_app, name="task")
app.add_typer(me_app, name="me")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(incident_app, name="incident")
app.add_typer(mail_app, name="mail")
app.add_typer(documents_app, name="documents")
app.add_typer(personal_app, name="personal-data")
app.add_typer(temporal_app, name="temporal")
app.add_typer(templates_app, name="templates")
app.add_typer(witness_app, name="witness")


def _error(message: str, details: object = None) -> int:
    sys.stderr.write(f"error: {message}\n")
    if isinstance(details, dict) and details:
        for key, value in details.items():
            sys.stderr.write(f"  {key}: {value}\n")
    return 1


def run_cli(args: list[str] | None = None) -> int:
    """Run a command and return its exit code; errors become messages, never tracebacks."""
    try:
        result = app(args=args, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        return 130
    except typer.TyperException as exc:  # usage errors: bad option values, missing arguments
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 2))
    except DomainError as exc:
        return _error(exc.message, exc.details)
    except OperationalError as exc:
        return _error(f"the store cannot be used ({exc.orig}). Check COOPFLOW_DATABASE_URL, "
                      "or start `coopflow dev` first.")
    except Exception as exc:
        if os.environ.get("COOPFLOW_DEBUG"):
            traceback.print_exc()
        return _error(f"unexpected {type(exc).__name__}: {exc} (set COOPFLOW_DEBUG=1 for details)")


def main() -> None:
    code = run_cli()
    sys.stdout.flush()
    sys.stderr.flush()
    # End deliberately: the Temporal runtime can crash at interpreter exit (sdk-python #300).
    os._exit(code)


if __name__ == "__main__":
    main()
