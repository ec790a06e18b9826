"""`coopflow worker` and `coopflow web` as real processes, against the tests' Temporal and store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

COOPFLOW = str(Path(sys.executable).parent / "coopflow")


class Processes:
    """Processes on one task queue; ``stop()`` ends every one of them."""

    def __init__(self, temporal_address: str, engine: Engine, task_queue: str, **settings: str) -> None:
        self.env = {**os.environ, "COOPFLOW_TEMPORAL_ADDRESS": temporal_address, "COOPFLOW_TASK_QUEUE": task_queue,
                    "COOPFLOW_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                    "COOPFLOW_LOG_FORMAT": "json", "COOPFLOW_LOG_LEVEL": "WARNING", "COOPFLOW_STICKY_TIMEOUT": "1",
                    **{f"COOPFLOW_{k.upper()}": v for k, v in settings.items()}}
        self.started: list[subprocess.Popen[str]] = []

    def start(self, *command: str, **settings: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
        """Start `coopflow COMMAND --json` and wait until it says it runs; returns it and what it said."""
        env = {**self.env, **{f"COOPFLOW_{k.upper()}": v for k, v in settings.items()}}
        proc = subprocess.Popen([COOPFLOW, *command, "--json"], env=env, stdout=subprocess.PIPE, text=True)
        self.started.append(proc)
        assert proc.stdout is not None
        said = [proc.stdout.readline()]
        while said[-1] and not said[-1].startswith("}"):
            said.append(proc.stdout.readline())
        text = "".join(said)
        assert '"running"' in text, f"`coopflow {command[0]}` did not start: {text!r}"
        return proc, json.loads(text)

    def stop(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
