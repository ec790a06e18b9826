"""`coopflow witness`: the witness a partner organisation runs itself (see docs/witness.md).

Neither command reads coopflow's settings for a store or Temporal: a witness has neither.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated

import structlog
import typer

from commands.common import JsonOpt, output, run
from domain import InvalidRequest
from evidence.cosignature import Cosigner

witness_app = typer.Typer(help="A witness: cosigns a coopflow deployment's checkpoints, run by a partner.",
                          no_args_is_help=True)
KeyFileOpt = Annotated[Path, typer.Option("--key-file", help="The witness's private key file (made by `init`).")]
log = structlog.get_logger("coopflow.witness")


@witness_app.command("init")
def init(
    name: Annotated[str, typer.Option("--name", help="The witness's name, a schema-less URL such as "
                                                     "witness.example.org/coopflow.")],
    key_file: KeyFileOpt,
    json_: JsonOpt = False,
) -> None:
    """Make the witness's key in a new file (mode 0600) and print its verifier key for the coopflow host."""
    cosigner = Cosigner.generate(name)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidRequest(f"{key_file} exists already: a witness keeps its key. Remove the file first only "
                             "if you mean to start over with a new key (and give the host the new one).") from None
    except OSError as error:
        raise InvalidRequest(f"Cannot create {key_file}: {error.strerror}.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(str(cosigner) + "\n")
    key = cosigner.key
    output(json_, {"key": str(key), "name": key.name, "key_id": key.id.hex(), "key_file": str(key_file)}, str(key))


@witness_app.command("serve")
def serve(
    key_file: KeyFileOpt,
    db: Annotated[Path, typer.Option("--db", help="The SQLite file of what the witness cosigned (made if "
                                                  "missing; back it up).")],
    log_key: Annotated[str, typer.Option("--log-key", help="The coopflow deployment's verifier key "
                                                           "(`coopflow audit public-key`), or a file holding it.")],
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8480,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; keep 127.0.0.1 behind a reverse "
                                                     "proxy that adds TLS.")] = "127.0.0.1",
    origin_prefix: Annotated[str | None, typer.Option(
        "--origin-prefix", help="Follow only the logs whose origin starts with this; default: the log key's "
                                "name and a slash (every project of that deployment).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Cosign the checkpoints of every log the key signs, each consistent with the last; until Ctrl-C."""
    from evidence.notes import Verifier
    from logs import configure_logging
    from witness.core import Witness
    from witness.server import serve as serve_http
    from witness.state import Faults, State

    configure_logging(os.environ.get("COOPFLOW_LOG_FORMAT", "auto"), os.environ.get("COOPFLOW_LOG_LEVEL", "INFO"))
    cosigner = _load_key(key_file)
    verifier = Verifier.parse(_text_or_file(log_key))
    prefix = verifier.name + "/" if origin_prefix is None else origin_prefix
    state = State(db, Faults(os.environ.get("COOPFLOW_WITNESS_FAULTS", "")))
    witness = Witness(cosigner, verifier, prefix, state)
    url = f"http://{host}:{port}"

    def ready() -> None:
        output(json_, {"status": "running", "url": url, "key": str(cosigner.key), "log_key": str(verifier),
                       "origin_prefix": prefix, "db": str(db)},
               f"coopflow witness {cosigner.name} on {url}, following the logs {prefix}… of {verifier.name}\n"
               f"  verifier key: {cosigner.key}")

    run(serve_http(witness, host, port, ready))


def _load_key(key_file: Path) -> Cosigner:
    if not key_file.is_file():
        raise InvalidRequest(f"There is no witness key file {key_file}: make one with `coopflow witness init`.")
    if key_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("the witness key file can be read by others than its owner: chmod 600 it",
                    key_file=str(key_file))
    return Cosigner.parse(key_file.read_text(encoding="utf-8"))


def _text_or_file(value: str) -> str:
    path = Path(value)
    return path.read_text(encoding="utf-8") if "+" not in value and path.is_file() else value
