"""The processes under bench/chaos.py's test — a Temporal dev server, a `coopflow worker`, a `coopflow
web` — and the faults it does to them: a worker killed, Temporal killed, the store's line cut."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.proxy import TcpProxy
from services.devstack import DevServer, free_port

COOPFLOW = str(Path(sys.executable).parent / "coopflow")
# how soon a dead worker's work moves to the next one (production defaults are 10 s each)
TIMEOUTS = {"COOPFLOW_WRITE_TIMEOUT": "3", "COOPFLOW_WORKFLOW_TASK_TIMEOUT": "5", "COOPFLOW_STICKY_TIMEOUT": "2"}


def log(*parts: Any) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


class Stack:
    """The processes under test and the faults done to them."""

    def __init__(self, tmp: Path, store_url: str, proxy: TcpProxy, timeouts: dict[str, str] | None = None) -> None:
        self.tmp, self.proxy = tmp, proxy
        self.server = DevServer(tmp / "temporal", free_port())
        self.web_port = free_port()
        self.env = {**os.environ, **(TIMEOUTS if timeouts is None else timeouts),
                    "COOPFLOW_TEMPORAL_ADDRESS": self.server.address,
                    "COOPFLOW_DATABASE_URL": store_url, "COOPFLOW_TASK_QUEUE": "chaos", "COOPFLOW_LOG_FORMAT": "json",
                    "COOPFLOW_LOG_LEVEL": "WARNING", "COOPFLOW_DATA_DIR": str(tmp / "data"),
                    "COOPFLOW_SECRET_KEY": "chaos-secret"}
        self.worker: subprocess.Popen[str] | None = None
        self.web: subprocess.Popen[str] | None = None
        self.faults: list[dict[str, Any]] = []  # {kind, at, back}
        self.last_kill = time.monotonic()
        self.started: list[subprocess.Popen[str]] = []  # every process, so that stop() leaves none behind
        self._replacing = asyncio.Lock()  # one worker at a time, whoever replaces it
        self._next: asyncio.Task[subprocess.Popen[str]] | None = None

    async def _process(self, *command: str) -> subprocess.Popen[str]:
        """Start `coopflow COMMAND`, again and again while what it needs (Temporal, the store) is away."""
        for _ in range(600):
            log_file = (self.tmp / f"{command[0]}.log").open("a")
            proc = subprocess.Popen([COOPFLOW, *command, "--json"], env=self.env, stdout=subprocess.PIPE,
                                    stderr=log_file, text=True, start_new_session=True)
            self.started.append(proc)
            assert proc.stdout is not None
            said = [await asyncio.to_thread(proc.stdout.readline)]
            while said[-1] and '"running"' not in said[-1]:
                said.append(await asyncio.to_thread(proc.stdout.readline))
            if '"running"' in said[-1]:
                return proc
            proc.wait()
            await asyncio.sleep(1)
        raise RuntimeError(f"`coopflow {command[0]}` did not start (see {self.tmp / command[0]}.log)")

    async def start(self) -> str:
        self.server.start()
        await self.server.wait_ready()
        self.worker = await self._process("worker")
        self.web = await self._process("web", "--port", str(self.web_port))
        return f"http://127.0.0.1:{self.web_port}"

    async def replace_worker(self, *, graceful: bool = False) -> None:
        """SIGKILL the worker in the middle of whatever it does — or, ``graceful``, tell it to stop
        (SIGTERM, as a deploy or a scale-down does) and wait until it has. Its replacement was started
        after the previous one went, as a deployment keeps one ready (starting Python takes seconds):
        what is measured is the work the old one left behind."""
        async with self._replacing:
            assert self.worker is not None
            if self._next is None:
                self._next = asyncio.create_task(self._process("worker"))
            fresh = await self._next
            old = self.worker
            if graceful:
                old.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(old.wait, 60)
                except subprocess.TimeoutExpired:
                    old.kill()
                    raise RuntimeError("a worker told to stop was still running a minute later") from None
            else:
                old.kill()
                old.wait()
            at = self.last_kill = time.monotonic()
            self.worker = fresh
            self.faults.append({"kind": "worker stopped (SIGTERM)" if graceful else "worker killed", "at": at,
                                "back": at})
            self._next = asyncio.create_task(self._process("worker"))

    async def kill_temporal(self, down: float = 3.0) -> None:
        at = time.monotonic()
        self.server.kill()
        await asyncio.sleep(down)
        self.server.start()
        await self.server.wait_ready()
        self.faults.append({"kind": "Temporal killed", "at": at, "back": time.monotonic()})

    async def cut_store(self, seconds: float) -> None:
        at = time.monotonic()
        self.proxy.cut()
        await asyncio.sleep(seconds)
        self.proxy.mend()
        self.faults.append({"kind": f"store cut for {seconds:.0f} s", "at": at, "back": time.monotonic()})

    async def keep_worker_alive(self) -> None:
        """A worker that dies by itself (Temporal away too long) is restarted too."""
        while True:
            await asyncio.sleep(1)
            async with self._replacing:
                if self.worker is not None and self.worker.poll() is not None:
                    log("the worker exited by itself; restarting it")
                    self.worker = await self._process("worker")

    def stop(self) -> None:
        if self._next is not None:
            self._next.cancel()
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.server.stop()
