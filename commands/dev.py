"""`coopflow dev` (the whole embedded stack) and `coopflow worker`."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import structlog
import typer

from commands.common import JsonOpt, Runtime, output, run
from services.seed import DEMO_PASSWORD
from settings import get_settings
from store import make_engine
from store.documents import FolderStorage
from templates import TemplateRegistry

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.engine import Engine
    from temporalio.client import Client

    from services.devstack import DevServer

# The web app and the worker are imported by the commands that run them, so that every other
# command starts fast.

log = structlog.get_logger("coopflow.dev")


def dev(
    port: Annotated[int, typer.Option(help="Port of the web app.")] = 8000,
    temporal_port: Annotated[int, typer.Option(help="gRPC port of the Temporal dev server.")] = 7233,
    data_dir: Annotated[
        Path, typer.Option(help="Where Temporal's and the store's SQLite files live.")] = Path(".coopflow"),
    json_: JsonOpt = False,
) -> None:
    """Start everything on this machine: Temporal dev server, worker, web, store; Ctrl-C stops it all."""
    from domain import InvalidRequest
    from services.app import Coopflow
    from services.devstack import DevServer, MailSink, default_env, free_port, install_stop_handlers, port_in_use
    from services.digests import ensure_digests
    from services.seed import seed_demo
    from services.temporal import ensure_checkpoint_schedule
    from web.app import create_app
    from web.server import serve
    from worker import run_worker

    overrides: dict[str, object] = {"data_dir": data_dir, "temporal_address": f"127.0.0.1:{temporal_port}"}
    if "COOPFLOW_METRICS_BIND" not in os.environ:  # the SDK's metrics, shown at /metrics with coopflow's
        overrides["metrics_bind"] = f"127.0.0.1:{free_port()}"
    if "COOPFLOW_PUBLIC_URL" not in os.environ:
        overrides["public_url"] = f"http://127.0.0.1:{port}"
    sink = None
    if "COOPFLOW_SMTP_HOST" not in os.environ:  # a local sink shows at /dev/mail what partners would get
        sink = MailSink()
        overrides |= {"smtp_host": "127.0.0.1", "smtp_port": sink.port}
    settings = get_settings(**overrides)
    if not settings.personal_data_keys:  # the key-encryption key of personal data, made once in the data dir
        from services.sealing import make_key_file

        make_key_file(settings.data_dir)
    rt = Runtime(settings, migrate=True)
    if port_in_use(port):
        raise InvalidRequest(f"Port {port} is in use: is another `coopflow dev` running? "
                                  "Stop it, or choose another port with --port.")
    server = DevServer(data_dir, temporal_port, avoid=(port,))

    async def go() -> None:
        stop = asyncio.Event()
        install_stop_handlers(stop, lambda: print("\nStopping coopflow dev …", file=sys.stderr, flush=True))
        server.start()
        if sink is not None:
            sink.start()
        client = await server.wait_ready(settings)
        users = seed_demo(rt.engine)
        await ensure_checkpoint_schedule(client, settings.task_queue)
        await ensure_digests(client, settings.task_queue)
        coopflow = Coopflow.configured(settings, engine=rt.engine, client=client)
        web = create_app(coopflow=coopflow, settings=settings, mail_sink=sink)
        env = default_env(data_dir, temporal_port)
        store = rt.engine.url.render_as_string(hide_password=True)
        await asyncio.gather(run_worker(client, rt.engine, settings.task_queue, stop, faults=settings.faults,
                                        sticky_timeout=settings.sticky_timeout, public_url=settings.public_url,
                                        smtp=settings.smtp(), signer=settings.signer,
                                        documents=FolderStorage(settings.documents_path),
                                        templates=coopflow.templates), serve(
            web, "127.0.0.1", port, stop, ready=lambda: _welcome(json_, store, server, users, env, port)))

    try:
        run(go())
    finally:
        if sink is not None:
            sink.stop()
        server.stop()
        print("coopflow dev stopped.", file=sys.stderr, flush=True)


def _this_cli() -> str:
    """How another terminal in this folder calls this very coopflow: `coopflow` when the PATH finds it,
    else its path (`make run` does not activate .venv: .venv/bin/coopflow)."""
    here = Path(sys.executable).parent / "coopflow"
    found = shutil.which("coopflow")
    if found and Path(found).resolve() == here.resolve():
        return "coopflow"
    return os.path.relpath(here) if here.resolve().is_relative_to(Path.cwd().resolve()) else str(here)


def _welcome(as_json: bool, store_url: str, server: DevServer, users: list[dict[str, str]] | None,
             env: dict[str, str], port: int) -> None:
    if as_json:
        output(True, {"status": "running", "web": f"http://127.0.0.1:{port}", "temporal": server.address,
                      "temporal_ui": f"http://127.0.0.1:{server.ui_port}", "store": store_url,
                      "demo_password": DEMO_PASSWORD, "users": users or [], "env": env}, "")
        return
    out = [f"coopflow dev is running.  Web http://127.0.0.1:{port}  (API docs http://127.0.0.1:{port}/api/docs, "
           f"mail the users would get http://127.0.0.1:{port}/dev/mail)",
           f"  Temporal {server.address} (UI http://127.0.0.1:{server.ui_port}), store {store_url}"]
    if users:
        out.append("Demo users (password for all: " + DEMO_PASSWORD + "); API tokens are shown only this once:")
        out += [f"  {u['email']:<32} {u['role']:<12} {u['org']:<24} token {u['token']}" for u in users]
    else:
        out.append("Demo users exist from an earlier run; `coopflow user token EMAIL --rotate` issues a new token.")
    prefix = " ".join(f"{k}={v}" for k, v in env.items())
    prefix = (prefix + " " if prefix else "") + _this_cli()
    out += ["In another terminal, for example:",
            f"  {prefix} project start --as stadt@demo.coopflow.example --title 'Pilot' "
            "--partner caritas-rs --partner horizon-civitas-mk --partner different-and-equal-al",
            f"  {prefix} tasks --as stadt@demo.coopflow.example",
            "Press Ctrl-C to stop."]
    print("\n".join(out), flush=True)


def _until_stopped(body: Callable[[Runtime, Client, asyncio.Event], Awaitable[None]], *,
                   store_may_wait: bool = False) -> None:
    """Check the store, connect to Temporal, and run ``body`` until Ctrl-C (or SIGTERM); with
    ``store_may_wait`` a store server's check is ``body``'s own."""
    from services.devstack import install_stop_handlers
    from services.temporal import connect

    rt = Runtime()
    if not (store_may_wait and rt.settings.database_url):
        rt.engine  # noqa: B018 - refuses an un-migrated store before anything starts

    async def go() -> None:
        stop = asyncio.Event()
        install_stop_handlers(stop)
        client = await connect(rt.settings)
        await body(rt, client, stop)

    run(go())


def worker(json_: JsonOpt = False) -> None:
    """Run one worker against the configured Temporal and store, until Ctrl-C.

    A store server that is away when the worker starts does not stop it: it starts degraded (workflows
    go on; their writes wait and are retried), says so, and says again when the store is back."""
    from worker import run_worker

    async def body(rt: Runtime, client: Client, stop: asyncio.Event) -> None:
        engine = make_engine(rt.settings.store_url) if rt.settings.database_url else rt.engine
        ready = await _store_ready(engine)
        output(json_, {"status": "running", "task_queue": rt.settings.task_queue,
                       "store": "ok" if ready else "unavailable"},
               f"coopflow worker on task queue {rt.settings.task_queue}"
               + ("" if ready else " (degraded: the store is unavailable; writes wait until it is back)"))
        watch = None if ready else asyncio.create_task(_until_store_ready(engine, stop))
        await run_worker(client, engine, rt.settings.task_queue, stop, faults=rt.settings.faults,
                         sticky_timeout=rt.settings.sticky_timeout, public_url=rt.settings.public_url,
                         smtp=rt.settings.smtp(), signer=rt.settings.signer,
                         documents=FolderStorage(rt.settings.documents_path),
                         templates=TemplateRegistry(*rt.settings.template_dirs))
        if watch is not None and watch.done():
            watch.result()  # a store that answered with a permanent refusal (no schema): said as an error
        elif watch is not None:
            watch.cancel()

    _until_stopped(body, store_may_wait=True)


STORE_RECHECK = 2.0  # seconds between checks of a store that was away


async def _store_ready(engine: Engine) -> bool:
    """Whether the store answers with the right schema; False while it is away. A store that answers but
    is not usable (an outdated schema) raises: no waiting mends that."""
    from store import check_schema, is_unavailable

    try:
        await asyncio.to_thread(check_schema, engine)
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning("the store is unavailable: the worker runs degraded, its writes wait until it is back",
                    error=type(error).__name__)
        return False
    return True


async def _until_store_ready(engine: Engine, stop: asyncio.Event) -> None:
    """Check the store until it is back (said in the log), or stop the worker if it refuses for good."""
    try:
        while not stop.is_set():
            await asyncio.sleep(STORE_RECHECK)
            if await _store_ready(engine):
                log.warning("the store is back: the worker is no longer degraded")
                return
    except Exception:
        stop.set()
        raise


def web(
    host: Annotated[str | None, typer.Option(help="Address to listen on (COOPFLOW_WEB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (COOPFLOW_WEB_PORT, default 8000).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Serve the web app and the JSON API against the configured Temporal and store, until Ctrl-C."""
    from services.app import Coopflow
    from web.app import create_app
    from web.server import serve

    async def body(rt: Runtime, client: Client, stop: asyncio.Event) -> None:
        coopflow = Coopflow.configured(rt.settings, engine=rt.engine, client=client)
        bind_host, bind_port = host or rt.settings.web_host, port or rt.settings.web_port
        url = f"http://{bind_host}:{bind_port}"
        await serve(create_app(coopflow=coopflow, settings=rt.settings), bind_host, bind_port, stop,
                    ready=lambda: output(json_, {"status": "running", "web": url}, f"coopflow web on {url}"))

    _until_stopped(body)
