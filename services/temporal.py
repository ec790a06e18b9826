"""Connecting to Temporal, and calling it with a bounded wait that rides out restarts and crashes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from domain import DomainError

T = TypeVar("T")
GIVE_UP_EVERY = 2.0  # seconds between asking a waiting caller's give_up(); answers usually come far sooner

# What a server restart, a crashed worker, a failing workflow task or a full update queue look like
# to a caller: each passes, so the same call (with the same update id) is sent again.
TRANSIENT = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
             RPCStatusCode.ABORTED, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL, RPCStatusCode.CANCELLED,
             RPCStatusCode.FAILED_PRECONDITION}


class TemporalUnavailable(DomainError):
    code = "temporal_unavailable"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


async def connect(address: str, namespace: str = "default") -> Client:
    try:
        return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
    except RuntimeError:
        raise TemporalUnavailable(
            f"Cannot reach Temporal at {address}. Is `coopflow dev` running, "
            "or is COOPFLOW_TEMPORAL_ADDRESS set to the right server?") from None


async def call_until(deadline: float, call: Callable[[timedelta], Awaitable[T]], *, waiting_for: str,
                     give_up: Callable[[], Exception | None] | None = None) -> T:
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
                error = give_up() if give_up is not None and not attempt.done() else None
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
