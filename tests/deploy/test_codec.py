"""Encrypted payloads: with keys configured, Temporal's history holds no form value in clear text,
and ids, search attributes and memo hold no personal data."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from google.protobuf import json_format
from google.protobuf.message import Message
from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import SerializationContext

from domain import CompleteTask, InvalidRequest, StartProject
from services.app import Coopflow
from services.codec import CodecKeysMissing, EncryptionCodec, data_converter, new_key, parse_keys
from services.seed import demo_email
from settings import get_settings
from store import accounts, read
from tests.utils.app import LEAD, PARTNERS, actor, start
from tests.utils.scenario import SAMPLE_DATA
from web.app import create_app
from worker import build_worker
from workflows.checkpoints import SCHEDULE_ID, CheckpointWorkflow
from workflows.project import ProjectInput

SECRET = "Vertraulich-Ljiljana-Petrović-4711"
UI = "http://localhost:8080"


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
    assert await EncryptionCodec(old, accept_plain=True).decode([plain]) == [plain], \
        "with accept_plain, what was never sealed passes through (histories from before the codec)"
    (refused,) = await rotated.decode([plain])
    assert refused.metadata["encoding"] == b"binary/coopflow-refused" and b"unsealed" in refused.data
    with pytest.raises(CodecKeysMissing, match="does not list"):
        await EncryptionCodec(new).decode([sealed])
    with pytest.raises(CodecKeysMissing, match="has no COOPFLOW_CODEC_KEYS"):
        await data_converter("").payload_codec.decode([sealed])  # type: ignore[union-attr]
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(InvalidTag):  # GCM refuses a changed ciphertext
        await EncryptionCodec(old).decode([tampered])


@pytest.fixture
def codec_keys() -> str:
    return new_key("k1")


@pytest.fixture
async def sealed_app(temporal_client: Client, sqlite_engine: Engine, codec_keys: str) -> AsyncIterator[Coopflow]:
    target = temporal_client.service_client.config.target_host
    client = await Client.connect(target, namespace=temporal_client.namespace,
                                  data_converter=data_converter(codec_keys))
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


# --- nobody without the key can talk to coopflow's workflows through Temporal ------------------------


def raw_client(client: Client) -> Client:
    """What someone with access to Temporal (its UI has no log-in) and without COOPFLOW_CODEC_KEYS sends:
    payloads in clear, or sealed payloads copied from a history."""
    return Client(client.service_client, namespace=client.namespace, data_converter=pydantic_data_converter)


async def stored(app: Coopflow, project_id: str) -> tuple[int, str]:
    """How many events the store holds for the project, and its t1's status."""
    auditor = actor(app, "auditor")
    t1 = next(t for t in app.show_project(auditor, project_id)["tasks"] if t["id"] == "t1")
    return len(list(app.list_events(auditor, project_id))), t1["status"]


async def test_a_command_in_clear_is_refused_and_changes_nothing(sealed_app: Coopflow, temporal_client: Client):
    app = sealed_app
    pid = (await start(app))["id"]
    before = await stored(app, pid)
    forged = CompleteTask(task_id="t1", actor=actor(app, LEAD), data={**SAMPLE_DATA["concept_note"], "summary": SECRET})
    handle = raw_client(temporal_client).get_workflow_handle(f"project-{pid}")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("complete_task", forged, result_type=RawValue)
    print("plain update:", refused.value.cause)
    assert refused.value.cause.type == "payload_refused"  # its message is sealed: the sender has no key
    assert await stored(app, pid) == before, "the forged command changed the store"
    history = await handle.fetch_history()
    assert not [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
                and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name ==
                "complete_task"], "the forged command reached the history"

    # a project started in clear never reaches the store either
    fake = "f0rged0000001"
    started = await raw_client(temporal_client).start_workflow(
        "ProjectWorkflow", ProjectInput(start=StartProject(
            project_id=fake, title="Forged", template=app.templates.latest("cooperation"), lead=LEAD,
            partners=PARTNERS, actor=actor(app, LEAD))), id=f"project-{fake}", task_queue=app.task_queue)
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(started.result(), 30)
    assert read.get_project(app.engine, fake) is None

    # the application's own, sealed, path still works
    done = await app.complete_task(actor(app, LEAD), pid, "t1", data=SAMPLE_DATA["concept_note"])
    assert done["status"] == "completed"


async def test_a_sealed_command_copied_into_another_project_is_refused(sealed_app: Coopflow, temporal_client: Client):
    app = sealed_app
    first, second = (await start(app))["id"], (await start(app))["id"]
    await app.complete_task(actor(app, LEAD), first, "t1", data={**SAMPLE_DATA["concept_note"], "summary": SECRET})
    raw = raw_client(temporal_client)
    history = await raw.get_workflow_handle(f"project-{first}").fetch_history()
    (sealed,) = [e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args.payloads[0]
                 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
                 and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name ==
                 "complete_task"]
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    before = await stored(app, second)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await raw.get_workflow_handle(f"project-{second}").execute_update("complete_task", RawValue(sealed),
                                                                          result_type=RawValue)
    print("copied update:", refused.value.cause)
    assert refused.value.cause.type == "payload_refused"
    assert await stored(app, second) == before, "a command sealed for another project changed this one"


async def test_histories_from_before_the_codec_go_on_with_accept_plain(temporal_client: Client, sqlite_engine: Engine):
    """A project started before payloads were sealed: its plain history replays on a worker with the
    keys once COOPFLOW_CODEC_ACCEPT_PLAIN is set (docs/production.md: switching the codec on)."""
    target, task_queue = temporal_client.service_client.config.target_host, f"tq-{uuid.uuid4()}"
    plain = await Client.connect(target, namespace=temporal_client.namespace, data_converter=data_converter(""))
    async with build_worker(plain, sqlite_engine, task_queue):
        app = Coopflow(engine=sqlite_engine, client=plain, task_queue=task_queue)
        pid = (await start(app))["id"]
    keys = new_key("k1")
    sealed = await Client.connect(target, namespace=temporal_client.namespace,
                                  data_converter=data_converter(keys, accept_plain=True))
    async with build_worker(sealed, sqlite_engine, task_queue):
        app = Coopflow(engine=sqlite_engine, client=sealed, task_queue=task_queue)
        done = await app.complete_task(actor(app, LEAD), pid, "t1", data=SAMPLE_DATA["concept_note"])
        assert done["status"] == "completed"


# --- the Temporal UI's codec endpoint opens what the caller may see, and seals nothing ------------------


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload anywhere in a protobuf message (a history event: inputs, results, failures, headers)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if field.message_type.GetOptions().map_entry:
            values = list(value.values())
        else:
            values = list(value) if field.is_repeated else [value]
        for item in values:
            if isinstance(item, Message):
                yield from payloads_in(item)


def staff_token(app: Coopflow, org: str) -> str:
    """An API token of the organisation's user (a coordinator of the second lead organisation, stadt-wien,
    made as tests/api/conftest.py makes it)."""
    email = "wien@demo.coopflow.example" if org == "stadt-wien" else demo_email(org)
    if org not in accounts.existing_orgs(app.engine, [org]):
        accounts.add_org(app.engine, org_id=org, name="Stadt Wien", country="AT")
        accounts.add_user(app.engine, email=email, org_id=org, role="coordinator")
    return accounts.rotate_token(app.engine, email)


async def test_the_codec_endpoint_opens_only_the_projects_the_caller_may_see(sealed_app: Coopflow, codec_keys: str,
                                                                           temporal_client: Client):
    app = sealed_app
    pid = (await start(app))["id"]
    await app.complete_task(actor(app, LEAD), pid, "t1", data={**SAMPLE_DATA["concept_note"], "summary": SECRET})
    history = await raw_client(temporal_client).get_workflow_handle(f"project-{pid}").fetch_history()
    sealed = [p for e in history.events for p in payloads_in(e) if p.metadata.get("encoding") == b"binary/encrypted"]
    assert len(sealed) >= 6, "the start, its commands, the writes and their results"
    body = json_format.MessageToJson(Payloads(payloads=sealed))
    web = create_app(coopflow=app, secret="s", settings=get_settings(codec_keys=codec_keys, codec_origins=UI))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://test") as http:
        async def decode(token: str) -> list[Payload]:
            answer = await http.post("/codec/decode", content=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json", "X-Namespace": "default"})
            assert answer.status_code == 200, answer.text
            return list(json_format.Parse(answer.content, Payloads()).payloads)

        for who in (staff_token(app, LEAD), staff_token(app, "audit-office")):  # a member, an auditor
            opened = await decode(who)
            assert not any(p.metadata.get("encoding") == b"binary/encrypted" for p in opened)
            assert any(SECRET.encode() in p.data for p in opened), "the completion's form is readable"
        outsider = await decode(staff_token(app, "stadt-wien"))  # a coordinator of another lead organisation
        assert len(outsider) == len(sealed)
        for payload in outsider:
            assert SECRET.encode() not in payload.data and b"task_id" not in payload.data
            assert payload.metadata.get("coopflow-withheld") == b"not-yours", payload
        encode = await http.post("/codec/encode", content=body, headers={
            "Authorization": f"Bearer {staff_token(app, LEAD)}", "Content-Type": "application/json"})
        print("encode:", encode.status_code, encode.text)
        assert encode.status_code == 403 and "API" in encode.json()["error"]["message"]
    assert {p.metadata.get("coopflow-workflow-id") for p in sealed} == {f"project-{pid}".encode()}, \
        "every payload is bound to its project's workflow"


async def test_the_daily_checkpoint_runs_with_sealed_payloads(sealed_app: Coopflow):
    """A workflow of no project, as the schedule starts it: its activity's result is sealed for it and read back."""
    pid = (await start(sealed_app))["id"]
    made = await sealed_app.client.execute_workflow(CheckpointWorkflow.run, id=f"{SCHEDULE_ID}-{uuid.uuid4()}",
                                                    task_queue=sealed_app.task_queue)
    assert made >= 1 and sealed_app.checkpoints(actor(sealed_app, "auditor"), pid)


class UnboundCodec(EncryptionCodec):
    """The codec as it was before payloads were bound to their workflow."""

    def with_context(self, context: SerializationContext) -> UnboundCodec:
        return self


async def test_histories_sealed_before_payloads_were_bound_go_on(temporal_client: Client, sqlite_engine: Engine,
                                                                codec_keys: str):
    target, task_queue = temporal_client.service_client.config.target_host, f"tq-{uuid.uuid4()}"
    old = await Client.connect(target, namespace=temporal_client.namespace, data_converter=dataclasses.replace(
        data_converter(codec_keys), payload_codec=UnboundCodec(parse_keys(codec_keys))))
    async with build_worker(old, sqlite_engine, task_queue):
        pid = (await start(Coopflow(engine=sqlite_engine, client=old, task_queue=task_queue)))["id"]
    history = await raw_client(temporal_client).get_workflow_handle(f"project-{pid}").fetch_history()
    assert not any(p.metadata.get("coopflow-workflow-id") for e in history.events for p in payloads_in(e))
    new = await Client.connect(target, namespace=temporal_client.namespace, data_converter=data_converter(codec_keys))
    async with build_worker(new, sqlite_engine, task_queue):
        app = Coopflow(engine=sqlite_engine, client=new, task_queue=task_queue)
        done = await app.complete_task(actor(app, LEAD), pid, "t1", data=SAMPLE_DATA["concept_note"])
        assert done["status"] == "completed"
