"""Encrypted payloads: with keys configured, Temporal's history holds no form value in clear text,
and ids, search attributes and memo hold no personal data."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from domain import InvalidRequest
from services.app import Coopflow
from services.codec import CodecKeysMissing, EncryptionCodec, data_converter, new_key, parse_keys
from services.seed import demo_email
from tests.utils.app import LEAD, PARTNERS, actor, start
from worker import build_worker

SECRET = "Vertraulich-Ljiljana-Petrović-4711"


def test_keys_are_read_with_every_mistake_named():
    k1, k2 = new_key("k1"), new_key("k2")
    assert list(parse_keys(f"{k2}, {k1}")) == ["k2", "k1"], "the first key is the current one"
    assert parse_keys("") == {}
    for bad, says in [("k1", "not 'id:base64key'"), ("k1:%%%", "not base64"),
                      (f"k1:{base64.b64encode(b'short').decode()}", "has 5 bytes"),
                      (f"{k1},{k1}", "listed twice")]:
        with pytest.raises(InvalidRequest, match=says):
            parse_keys(bad)


async def test_payloads_are_sealed_and_keys_rotate():
    old, new = parse_keys(new_key("old")), parse_keys(new_key("new"))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=f'"{SECRET}"'.encode())
    (sealed,) = await EncryptionCodec(old).encode([plain])
    assert SECRET.encode() not in sealed.SerializeToString() and sealed.metadata["encryption-key-id"] == b"old"
    rotated = EncryptionCodec({**new, **old})  # the new key first: it seals, the old one still opens
    assert await rotated.decode([sealed]) == [plain]
    assert (await rotated.encode([plain]))[0].metadata["encryption-key-id"] == b"new"
    assert await rotated.decode([plain]) == [plain], "what was never sealed passes through"
    with pytest.raises(CodecKeysMissing, match="does not list"):
        await EncryptionCodec(new).decode([sealed])
    with pytest.raises(CodecKeysMissing, match="has no COOPFLOW_CODEC_KEYS"):
        await data_converter("").payload_codec.decode([sealed])  # type: ignore[union-attr]
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(InvalidTag):  # GCM refuses a changed ciphertext
        await EncryptionCodec(old).decode([tampered])


@pytest.fixture
async def sealed_app(temporal_client: Client, sqlite_engine: Engine) -> AsyncIterator[Coopflow]:
    target = temporal_client.service_client.config.target_host
    client = await Client.connect(target, namespace=temporal_client.namespace,
                                  data_converter=data_converter(new_key("k1")))
    task_queue = f"tq-{uuid.uuid4()}"
    async with build_worker(client, sqlite_engine, task_queue):
        yield Coopflow(engine=sqlite_engine, client=client, task_queue=task_queue)


async def test_the_raw_history_holds_no_form_value_and_no_personal_data(sealed_app: Coopflow,
                                                                      temporal_client: Client):
    app = sealed_app
    project = await start(app, title=f"Pilot {SECRET}")
    pid = project["id"]
    await app.complete_task(actor(app, LEAD), pid, "t1", data={
        "summary": SECRET, "budget_eur": "4711.25", "duration_months": 17, "languages": ["sr"]})
    tasks = app.show_project(actor(app, LEAD), pid)["tasks"]
    letter = next(t for t in tasks if t["status"] == "open" and t["assignee"] == PARTNERS[0])
    await app.complete_task(actor(app, PARTNERS[0]), pid, letter["id"],
                            data={"contribution": SECRET, "contact_person": "Ljiljana Petrović"})
    shown = app.show_project(actor(app, LEAD), pid)
    assert shown["title"] == f"Pilot {SECRET}", "the application reads through the codec"

    # a client without the codec sees only sealed payloads
    plain = await Client.connect(temporal_client.service_client.config.target_host,
                                 namespace=temporal_client.namespace)
    handle = plain.get_workflow_handle(f"project-{pid}")
    history = await handle.fetch_history()
    raw = b"".join(e.SerializeToString() for e in history.events)
    people = [demo_email(org) for org in (LEAD, *PARTNERS)]
    for needle in [SECRET, "Ljiljana", "Petrovi", "4711.25", *people]:
        assert needle.encode() not in raw, f"{needle!r} is in the history in clear text"
    assert b"binary/encrypted" in raw, "the payloads are sealed (the test would pass on an empty history)"

    verified = await app.verify_against_history(actor(app, "auditor"), pid)
    assert verified["ok"] and verified["history"]["available"], "the auditor's check reads through the codec"
    keyless = Coopflow(engine=app.engine, task_queue=app.task_queue, client=await Client.connect(
        temporal_client.service_client.config.target_host, namespace=temporal_client.namespace,
        data_converter=data_converter("")))
    with pytest.raises(CodecKeysMissing, match="sealed with the key 'k1'"):
        await keyless.verify_against_history(actor(app, "auditor"), pid)

    described = await handle.describe()
    visible = [described.id, described.run_id or "", repr(described.typed_search_attributes),
               repr(await described.memo())]
    for needle in [SECRET, "Ljiljana", *people]:
        assert not any(needle in v for v in visible), f"{needle!r} in a workflow id, search attribute or memo"
