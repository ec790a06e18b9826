"""Tracing through the Temporal SDK's OpenTelemetry interceptor, off unless
``COOPFLOW_OTEL_ENDPOINT`` names an OTLP/HTTP traces endpoint (e.g. ``http://otel-collector:4318/v1/traces``).

Spans follow a request from the web app's client call (start a project, complete a task) through the
workflow's handling to the store write activity, across processes (Temporal carries the context in
its headers). Needs the ``otel`` extra: ``pip install 'coopflow[otel]'``.
"""

from __future__ import annotations

import functools
from typing import Any

from domain import InvalidRequest


@functools.cache
def tracing(endpoint: str) -> tuple[Any, Any]:
    """(the interceptor for ``Client.connect``, its tracer provider), one per process and endpoint."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from temporalio.contrib.opentelemetry import TracingInterceptor
    except ImportError:
        raise InvalidRequest("COOPFLOW_OTEL_ENDPOINT is set but OpenTelemetry is not installed: "
                             "pip install 'coopflow[otel]'.", {"otel_endpoint": "needs the otel extra"}) from None
    provider = TracerProvider(resource=Resource.create({"service.name": "coopflow"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return TracingInterceptor(provider.get_tracer("coopflow")), provider
