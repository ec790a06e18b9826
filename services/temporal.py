"""Connecting to Temporal, with a message a person understands when it is not there."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from domain import DomainError


class TemporalUnavailable(DomainError):
    code = "temporal_unavailable"


async def connect(address: str, namespace: str = "default") -> Client:
    try:
        return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)
    except RuntimeError:
        raise TemporalUnavailable(
            f"Cannot reach Temporal at {address}. Is `coopflow dev` running, "
            "or is COOPFLOW_TEMPORAL_ADDRESS set to the right server?") from None
