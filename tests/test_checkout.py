"""The checkout: `make run`, and what the tests leave in it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from store import make_engine, upgrade
from tests.utils.processes import Processes

CHECKOUT = Path(__file__).resolve().parent.parent
CHECKOUT_DATA = CHECKOUT / ".coopflow"  # the default data folder (`make run` uses it)


def files_in(folder: Path) -> set[Path]:
    return set(folder.rglob("*")) if folder.exists() else set()


def test_processes_the_tests_start_keep_their_files_out_of_the_checkout(temporal_env: WorkflowEnvironment,
                                                                       tmp_path: Path):
    """A worker or web process a test starts makes its signing key (and keeps uploads) in its data
    folder: never the checkout's `.coopflow`, which `make run` then takes for its own."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    before = files_in(CHECKOUT_DATA)
    processes = Processes(temporal_env.client.service_client.config.target_host, engine, "tq-checkout")
    try:
        processes.start("worker")
    finally:
        processes.stop()
    assert files_in(CHECKOUT_DATA) - before == set()
    data = Path(processes.env.get("COOPFLOW_DATA_DIR", ".coopflow")).resolve()
    assert CHECKOUT not in [data, *data.parents], f"the tests' processes keep their files in {data}"
    assert (data / "signing.key").exists(), "the worker's signing key (made by it, or by a process before it)"


def make_plan(*args: str) -> list[str]:
    """The commands `make ARGS` would run (make -n), as a newcomer's shell would run make."""
    # run as `make test` runs it, this make is a sub-make: no "Entering directory" lines, no inherited flags
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(["make", "--no-print-directory", "-n", *args], cwd=CHECKOUT, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_make_test_on_a_fresh_machine_checks_the_system_packages_before_making_the_venv():
    """Without python3-venv the venv cannot be made: scripts/system-deps.sh says so (or installs it) first."""
    plan = make_plan("-B", "test")  # -B: as on a fresh clone, where nothing is made yet
    deps = next(i for i, line in enumerate(plan) if "system-deps.sh" in line)
    venv = next(i for i, line in enumerate(plan) if "-m venv" in line)
    assert deps < venv < next(i for i, line in enumerate(plan) if "pytest" in line), plan


def test_make_run_takes_another_port_for_the_web_app():
    """`make run PORT=8080` when 8000 is taken; without it, `coopflow dev`'s default."""
    def planned(*args: str) -> str:
        [command] = [line for line in make_plan("-o", ".venv/.installed", "run", *args) if "coopflow dev" in line]
        return command

    assert planned("PORT=8080").endswith("coopflow dev --port 8080")
    assert planned().endswith("coopflow dev")
