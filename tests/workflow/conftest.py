"""The time-skipping test server, for deadlines, reminders and everything else that waits."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from services.app import Coopflow
from services.sealing import KeyEncryptionKeys
from worker import build_worker
from workflows import SEARCH_ATTRIBUTES


@pytest.fixture
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Each test its own time-skipping server (it starts in a tenth of a second): a workflow left waiting
    by an earlier test, its worker gone, has a workflow task due when its timer fires, which keeps the
    server's clock locked, and the next test's skip would hang."""
    path = shutil.which("temporal-test-server") or str(Path(os.sys.executable).parent / "temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter)
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={k.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for k in SEARCH_ATTRIBUTES}))
    yield env
    await env.shutdown()


@pytest.fixture
async def skipping_app(skipping_env: WorkflowEnvironment, sqlite_engine: Engine,
                       key_encryption_keys: KeyEncryptionKeys) -> AsyncIterator[Coopflow]:
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(skipping_env.client, sqlite_engine, task_queue):
        yield Coopflow(engine=sqlite_engine, client=skipping_env.client, task_queue=task_queue,
                       key_encryption_keys=key_encryption_keys)
