"""Connecting to Temporal, and calling it with a bounded wait that rides out restarts and crashes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.runtime import PrometheusConfig, TelemetryConfig
from temporalio.runtime import Runtime as TemporalRuntime
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from domain import DomainError, InvalidRequest
from domain.errors import PayloadTooLarge

if TYPE_CHECKING:
    from settings import Settings

T = TypeVar("T")
GIVE_UP_EVERY = 2.0  # seconds between asking a waiting caller's give_up(); answers usually come far sooner

# What a server restart, a crashed worker, a failing workflow task or a full update queue look like
# to a caller: each passes, so the same call (with the same update id) is sent again.
TRANSIENT = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
             RPCStatusCode.ABORTED, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL, RPCStatusCode.CANCELLED,
             RPCStatusCode.FAILED_PRECONDITION}


class TemporalUnavailable(DomainError):
    code = "temporal_unavailable"




def client_options(settings: Settings) -> dict[str, Any]:
    """How ``Client.connect`` is called for these settings: namespace, TLS, API key, the data
    converter (with the encryption codec when keys are set) and, for a worker with
    ``metrics_bind``, a runtime that serves the SDK's Prometheus metrics."""
    from services.codec import data_converter

    options: dict[str, Any] = {"namespace": settings.temporal_namespace,
                               "data_converter": data_converter(settings.codec_keys,
                                                                accept_plain=settings.codec_accept_plain)}
    files = {"server_root_ca_cert": settings.temporal_tls_ca, "client_cert": settings.temporal_tls_cert,
             "client_private_key": settings.temporal_tls_key}
    if bool(settings.temporal_tls_cert) != bool(settings.temporal_tls_key):
        raise InvalidRequest("A client certificate needs its key, and a key its certificate: set both "
                             "COOPFLOW_TEMPORAL_TLS_CERT and COOPFLOW_TEMPORAL_TLS_KEY, or neither.",
                             {"temporal_tls_cert": "needs temporal_tls_key"})
    read: dict[str, bytes] = {}
    for name, path in files.items():
        if path:
            try:
                read[name] = Path(path).read_bytes()
            except OSError as exc:
                raise InvalidRequest(f"Cannot read {path} (for TLS with Temporal): {exc.strerror}.",
                                     {name: "unreadable"}) from None
    if read or settings.temporal_tls or settings.temporal_tls_server_name:
        options["tls"] = TLSConfig(server_root_ca_cert=read.get("server_root_ca_cert"),
                                   client_cert=read.get("client_cert"),
                                   client_private_key=read.get("client_private_key"),
                                   domain=settings.temporal_tls_server_name or None)
    if settings.temporal_api_key:
        options["api_key"] = settings.temporal_api_key
        options.setdefault("tls", True)
    if settings.metrics_bind:
        options["runtime"] = prometheus_runtime(settings.metrics_bind)
    if settings.otel_endpoint:  # the client's interceptor also traces the workers built on it
        from services.tracing import tracing

        options["interceptors"] = [tracing(settings.otel_endpoint)[0]]
    return options


@functools.cache
def prometheus_runtime(bind: str) -> TemporalRuntime:
    """One runtime per process and address: the SDK serves its metrics at http://bind/metrics."""
    return TemporalRuntime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


async def connect(settings: Settings) -> Client:
    try:
        return await Client.connect(settings.temporal_address, **client_options(settings))
    except RuntimeError as exc:
        hint = ("Is `coopflow dev` running, or is COOPFLOW_TEMPORAL_ADDRESS set to the right server?"
                if "127.0.0.1" in settings.temporal_address or "localhost" in settings.temporal_address
                else "Check COOPFLOW_TEMPORAL_ADDRESS, the namespace and the TLS or API key settings.")
        raise TemporalUnavailable(f"Cannot reach Temporal at {settings.temporal_address} "
                                  f"({str(exc).splitlines()[0][:200]}). {hint}") from None


async def call_until(deadline: float, call: Callable[[timedelta], Awaitable[T]], *, waiting_for: str,
                     give_up: Callable[[], Awaitable[Exception | None]] | None = None) -> T:
    """Run ``call(rpc_timeout)`` until it answers or ``deadline`` (event-loop time) passes.

    A call that times out or meets a passing fault is sent again after a short back-off; callers
    make that safe by giving the call an id that Temporal deduplicates (an update id, a workflow
    id). While it waits, ``give_up()`` is asked every ``GIVE_UP_EVERY`` seconds: an error it returns
    ends the wait (an incident, say). When the deadline passes, ``TemporalUnavailable`` says what
    was awaited.
    """
    loop = asyncio.get_running_loop()
    delay, last = 0.1, "no answer"
    while loop.time() < deadline:
        attempt = asyncio.ensure_future(call(timedelta(seconds=min(max(deadline - loop.time(), 1.0), 10.0))))
        try:
            while not attempt.done() and loop.time() < deadline:
                await asyncio.wait({attempt}, timeout=min(GIVE_UP_EVERY, max(deadline - loop.time(), 0.001)))
                error = await give_up() if give_up is not None and not attempt.done() else None
                if error is not None:
                    raise error
            if not attempt.done():
                last = "no answer in time"
                break
            return attempt.result()
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            last = "no answer in time"
        except RPCError as error:
            if "larger than max" in error.message:  # gRPC's own limit: no retry can pass it
                raise PayloadTooLarge("The request is too large for the workflow engine; shorten it.") from None
            if error.status not in TRANSIENT:
                raise
            last = error.message.split("\n")[0][:200]
        finally:
            if not attempt.done():  # abandoned: cancelled, its outcome consumed so nothing logs it later
                attempt.add_done_callback(lambda task: task.cancelled() or task.exception())
                attempt.cancel()
        await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))
        delay = min(delay * 2, 2.0)
    raise TemporalUnavailable(
        f"Temporal did not confirm {waiting_for} in time ({last}). If it was accepted it still happens; "
        "repeat the request with the same Idempotency-Key to get its answer, or try again in a minute.")


async def setup_namespace(client: Client, *, retention_days: int = 30, wait: float = 30.0,
                          task_queue: str | None = None) -> dict[str, Any]:
    """Make the configured namespace ready for coopflow: create it if it is missing (self-hosted
    clusters), register coopflow's search attributes that it lacks and, given the task queue, the
    daily checkpoint schedule. Safe to run again."""
    from google.protobuf.duration_pb2 import Duration as PbDuration
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest

    from workflows import SEARCH_ATTRIBUTES

    namespace = client.namespace
    done: dict[str, Any] = {"namespace": namespace, "namespace_created": False, "search_attributes_added": []}
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        await client.workflow_service.register_namespace(RegisterNamespaceRequest(
            namespace=namespace, description="coopflow",
            workflow_execution_retention_period=PbDuration(seconds=retention_days * 86400)))
        done["namespace_created"] = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:  # a new namespace takes a moment to reach every service of the cluster
        try:
            listed = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=namespace))
            break
        except RPCError as error:
            if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.UNAVAILABLE) or loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)
    existing = {**listed.system_attributes, **listed.custom_attributes}
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    wrong = [k.name for k in SEARCH_ATTRIBUTES if k.name in existing and existing[k.name] != keyword]
    if wrong:
        raise InvalidRequest(f"The namespace {namespace} has {', '.join(wrong)} with a type other than Keyword; "
                             "coopflow cannot use it. Remove them or use another namespace.",
                             {"search_attributes": ", ".join(wrong)})
    missing = {k.name: keyword for k in SEARCH_ATTRIBUTES if k.name not in existing}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing))
        done["search_attributes_added"] = sorted(missing)
    if task_queue is not None:
        done["checkpoint_schedule"] = await ensure_checkpoint_schedule(client, task_queue)
        from services.digests import ensure_digests

        done["digests"] = await ensure_digests(client, task_queue)
    return done


CHECKPOINT_CRON = "30 2 * * *"  # every day at 02:30 UTC


async def ensure_checkpoint_schedule(client: Client, task_queue: str) -> str:
    """Create the daily checkpoint schedule and the minutely witnessing one, or bring existing ones up to
    date: "created" or "updated" (the daily one's)."""
    from temporalio.client import ScheduleActionStartWorkflow, ScheduleIntervalSpec, ScheduleSpec

    from workflows import checkpoints, witnesses

    done = await _ensure_schedule(client, checkpoints.SCHEDULE_ID, ScheduleActionStartWorkflow(
        checkpoints.CheckpointWorkflow.run, id="coopflow-checkpoints", task_queue=task_queue),
        ScheduleSpec(cron_expressions=[CHECKPOINT_CRON]))
    await _ensure_schedule(client, witnesses.SCHEDULE_ID, ScheduleActionStartWorkflow(
        witnesses.WitnessWorkflow.run, id="coopflow-witnessing", task_queue=task_queue,
        execution_timeout=timedelta(minutes=15)),  # a run no worker took ends, and the next minute starts anew
        ScheduleSpec(intervals=[ScheduleIntervalSpec(every=witnesses.EVERY)]))
    return done


async def _ensure_schedule(client: Client, schedule_id: str, action: Any, spec: Any) -> str:
    from temporalio.client import (
        Schedule,
        ScheduleAlreadyRunningError,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleUpdate,
        ScheduleUpdateInput,
    )

    schedule = Schedule(action=action, spec=spec, policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))
    try:
        await client.create_schedule(schedule_id, schedule)
        return "created"
    except ScheduleAlreadyRunningError:
        def same(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)
        await client.get_schedule_handle(schedule_id).update(same)
        return "updated"
