"""The web app verifies checkpoints and never signs: it runs with the verifier key alone, and holds no
private key (workers and the commands that sign keep the signing key)."""

from __future__ import annotations

import gc
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, ModuleType
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from temporalio.client import Client

from domain import DomainError
from evidence.notes import Signer
from services.app import Coopflow
from settings import get_settings
from tests.store.test_tampering import AUDITOR, stored_project
from web.app import create_app

LEAVES = (str, bytes, int, float, bool, type, ModuleType, FunctionType, BuiltinFunctionType)


def private_keys(root: Any, limit: int = 400_000) -> list[str]:
    """What reachable from ``root`` is a signing key (a ``Signer`` or an Ed25519 private key). Functions,
    classes and modules are not followed: a key held by the app is held by an object's attributes."""
    seen: set[int] = set()
    todo, found = [root], []
    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, LEAVES):
            continue
        seen.add(id(obj))
        if isinstance(obj, Signer | Ed25519PrivateKey):
            found.append(type(obj).__name__)
            continue
        todo.extend(gc.get_referents(obj))
    return found


async def test_the_web_app_verifies_checkpoints_with_the_verifier_key_alone(engine: Engine, temporal_client: Client,
                                                                           tmp_path: Path):
    pid, count = stored_project(engine)
    signer = Signer.generate("coopflow/test.example")  # the worker's (or `coopflow audit checkpoint`'s) key
    Coopflow(engine=engine, client=None, task_queue="unused", signer=signer).checkpoint(  # type: ignore[arg-type]
        AUDITOR, pid)

    data_dir = tmp_path / "web-data"  # holds no signing.key: the web has none to read
    settings = get_settings(database_url=engine.url.render_as_string(hide_password=False), data_dir=data_dir,
                            temporal_address=temporal_client.service_client.config.target_host,
                            temporal_namespace=temporal_client.namespace, signing_key="",
                            verifier_key=str(signer.verifier))
    web = create_app(settings=settings, secret="s")
    async with web.router.lifespan_context(web):
        coopflow = web.state.coopflow
        status = coopflow.checkpoint_status(AUDITOR, pid)
        assert status is not None and status["ok"] and status["size"] == count, status
        assert coopflow.public_key() == str(signer.verifier)
        found = private_keys(web)
        assert not found, f"the web app holds a private key: {found}"
        assert not (data_dir / "signing.key").exists(), "the web app made a signing key of its own"
        with pytest.raises(DomainError, match="COOPFLOW_SIGNING_KEY"):
            coopflow.checkpoint(AUDITOR, pid)
        assert private_keys(web) == []


def test_a_process_with_the_verifier_key_never_makes_a_signing_key(tmp_path: Path):
    """A signing key made there would sign checkpoints nobody can check; one that does not match is refused."""
    signer, other = Signer.generate("coopflow/test.example"), Signer.generate("coopflow/test.example")
    web = get_settings(data_dir=tmp_path, signing_key="", verifier_key=str(signer.verifier))
    assert str(web.verifier()) == str(signer.verifier)
    with pytest.raises(DomainError, match="only the verifier key"):
        web.signer()
    assert not (tmp_path / "signing.key").exists()
    worker = get_settings(data_dir=tmp_path, signing_key=str(signer), verifier_key=str(signer.verifier))
    assert str(worker.signer().verifier) == str(signer.verifier)
    with pytest.raises(DomainError, match="not the verifier key of the signing key"):
        get_settings(data_dir=tmp_path, signing_key=str(other), verifier_key=str(signer.verifier)).signer()
