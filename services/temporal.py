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

# What a server restart, a crashed worker, a failing workflow task or a full update queue look like
# to a caller: each passes, so the same call (with the same update id) is sent again.
TRANSIENT = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
             RPCStatusCode.ABORTED, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL, RPCStatusCode.CANCELLED,
             RPCStatusCode.FAILED_PRECONDITION}


class TemporalUnavailable(DomainError):
    code = "temporal_unavailable"


async def connect(address: str, namespace: str = "default") -> Client:
    try:
        return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
    except RuntimeError:
        raise TemporalUnavailable(
            f"Cannot reach Temporal at {address}. Is `coopflow dev` running, "
            "or is COOPFLOW_TEMPORAL_ADDRESS set to the right server?") from None


async def call_until(deadline: float, call: Callable[[timedelta], Awaitable[T]], *, waiting_for: str) -> T:
    """Run ``call(rpc_timeout)`` until it answers or ``deadline`` (event-loop time) passes.

    A call that times out or meets a passing fault is sent again after a short back-off; callers
    make that safe by giving the call an id that Temporal deduplicates (an update id, a workflow
    id). When the deadline passes, ``TemporalUnavailable`` says what the caller waited for.
    """
    loop = asyncio.get_running_loop()
    delay, last = 0.1, "no answer"
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            return await asyncio.wait_for(call(timedelta(seconds=min(max(remaining, 1.0), 10.0))), remaining)
        except TimeoutError:
            last = "no answer in time"
            break
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            last = "no answer in time"
        except RPCError as error:
            if error.status not in TRANSIENT:
                raise
            last = error.message.split("\n")[0][:200]
        await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))
        delay = min(delay * 2, 2.0)
    raise TemporalUnavailable(
        f"Temporal did not confirm {waiting_for} in time ({last}). If it was accepted it still happens; "
        "repeat the request with the same Idempotency-Key to get its answer, or try again in a minute.")
