"""Encrypted payloads: what coopflow hands Temporal is sealed with AES-256-GCM before it leaves the
process, so the workflow engine's database holds no form value, name or comment in clear text.

Keys come from ``COOPFLOW_CODEC_KEYS``: ``id:base64key`` pairs separated by commas, the first one
current. New payloads are sealed with the current key and carry its id in their metadata; a payload
sealed with an older key is still opened while that key is listed, so keys rotate by putting a new
one first and dropping the old one once no open history needs it.

Each payload is bound to the workflow it belongs to: the workflow id travels in its metadata and is
authenticated with the ciphertext (GCM's associated data), so a payload cannot be moved to another
workflow, and the codec endpoint can tell whose project it is before opening it (``services/payloads.py``).

With keys set, what coopflow's processes decode must be sealed: someone with access to Temporal but
without the keys could otherwise hand a workflow a command in clear, with any ``Actor`` in it. An
unsealed payload, or one sealed for another workflow, becomes a refusal that fails whatever would use
it (an update is rejected before its validator runs, a start fails the workflow). Histories written
before the codec was switched on replay while ``COOPFLOW_CODEC_ACCEPT_PLAIN`` is set (docs/production.md).

Workflow ids, search attributes and memo are not payloads Temporal lets a codec touch: coopflow puts
no personal data there (``tests/deploy/test_codec.py`` scans them).
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import os
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    EncodingPayloadConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.exceptions import ApplicationError

from domain import DomainError, InvalidRequest

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
WORKFLOW = "coopflow-workflow-id"  # the workflow a payload was sealed for (authenticated, not secret)
REFUSED = b"binary/coopflow-refused"  # what an unacceptable payload decodes to: a refusal, never a value
NONCE = 12
UNSEALED = ("An unsealed payload is refused: commands reach coopflow's workflows through its API, sealed with "
            "COOPFLOW_CODEC_KEYS (a history from before the codec: COOPFLOW_CODEC_ACCEPT_PLAIN, docs/production.md).")


def parse_keys(text: str) -> dict[str, bytes]:
    """``id:base64key,…`` → {id: key}, in the given order (the first is current)."""
    keys: dict[str, bytes] = {}
    for n, part in enumerate(p.strip() for p in text.split(",") if p.strip()):
        key_id, sep, encoded = part.partition(":")
        where = f"COOPFLOW_CODEC_KEYS, key {n + 1}"
        if not sep or not key_id.strip():
            raise InvalidRequest(f"{where} is not 'id:base64key'.", {"codec_keys": "id:base64key,…"})
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise InvalidRequest(f"{where} ({key_id}) is not base64.", {"codec_keys": "not base64"}) from None
        if len(key) != 32:
            raise InvalidRequest(f"{where} ({key_id}) has {len(key)} bytes; AES-256 needs 32.",
                                 {"codec_keys": "a key has 32 bytes"})
        if key_id in keys:
            raise InvalidRequest(f"{where}: the id {key_id} is listed twice.", {"codec_keys": "duplicate id"})
        keys[key_id.strip()] = key
    return keys


def new_key(key_id: str = "k1") -> str:
    """A fresh key in the form COOPFLOW_CODEC_KEYS takes."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM over each whole payload (metadata and data), the key's id beside it, bound to its
    workflow when the SDK says which (``with_context``). ``accept_plain``: unsealed payloads decode as they
    are (histories from before the codec); otherwise they decode to a refusal."""

    def __init__(self, keys: dict[str, bytes], *, accept_plain: bool = False) -> None:
        if not keys:
            raise ValueError("an encryption codec needs a key")
        self.current = next(iter(keys))
        self.ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.accept_plain = accept_plain
        self.workflow_id: str | None = None  # the workflow whose payloads this copy seals and opens

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        workflow_id = context.workflow_id if isinstance(
            context, WorkflowSerializationContext | ActivitySerializationContext) else None
        bound = copy.copy(self)
        bound.workflow_id = workflow_id
        return bound

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self.ciphers[self.current]
        metadata = {"encoding": ENCODING, KEY_ID: self.current.encode()}
        if self.workflow_id:
            metadata[WORKFLOW] = self.workflow_id.encode()
        sealed = []
        for p in payloads:
            nonce = os.urandom(NONCE)
            data = cipher.encrypt(nonce, p.SerializeToString(), _bound_to(self.workflow_id))
            sealed.append(Payload(metadata=metadata, data=nonce + data))
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(p) for p in payloads]

    def _open(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload if self.accept_plain else refusal(UNSEALED)
        bound = workflow_of(payload)
        if bound is not None and self.workflow_id is not None and bound != self.workflow_id:
            return refusal(f"A payload sealed for the workflow {bound} is refused in {self.workflow_id}: it was "
                           "copied from another workflow's history.")
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self.ciphers.get(key_id)
        if cipher is None:
            raise CodecKeysMissing(f"Temporal holds payloads sealed with the key {key_id!r}, which "
                                   "COOPFLOW_CODEC_KEYS does not list (keep old keys after the current one).")
        return Payload.FromString(cipher.decrypt(payload.data[:NONCE], payload.data[NONCE:], _bound_to(bound)))


def workflow_of(payload: Payload) -> str | None:
    """The workflow a sealed payload was sealed for; None for one sealed before payloads were bound."""
    found = payload.metadata.get(WORKFLOW)
    return found.decode() if found else None


def _bound_to(workflow_id: str | None) -> bytes | None:
    """GCM's associated data: the workflow id, so that changing or dropping it breaks the seal."""
    return f"coopflow/workflow:{workflow_id}".encode() if workflow_id else None


def refusal(reason: str) -> Payload:
    return Payload(metadata={"encoding": REFUSED}, data=reason.encode())


class RefusedPayloadConverter(EncodingPayloadConverter):
    """A refused payload fails whatever would read it, with its reason (an ``ApplicationError``: an
    update is rejected with it, a workflow's input fails the workflow)."""

    @property
    def encoding(self) -> str:
        return REFUSED.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never written: only the codec makes these

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise ApplicationError(payload.data.decode(errors="replace"), type="payload_refused", non_retryable=True)


class SealedPayloadConverter(PydanticPayloadConverter):
    """The pydantic converter, and the refusals the encryption codec decodes unacceptable payloads to."""

    def __init__(self) -> None:
        super().__init__()
        self._set_converters(*self.converters.values(), RefusedPayloadConverter())


class CodecKeysMissing(DomainError):
    code = "codec_keys_missing"


class PlainCodec(PayloadCodec):
    """Without keys: payloads go out in clear, and a sealed one met in a history is a clear error
    (a process started without the keys the others seal with), not an unknown encoding."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        for p in payloads:
            if p.metadata.get("encoding") == ENCODING:
                key_id = p.metadata.get(KEY_ID, b"").decode()
                raise CodecKeysMissing(f"Temporal holds payloads sealed with the key {key_id!r}, and this process "
                                       "has no COOPFLOW_CODEC_KEYS: set the same keys as the workers and web.")
        return list(payloads)


def data_converter(codec_keys: str, *, accept_plain: bool = False) -> DataConverter:
    """The pydantic data converter, with payloads and failure messages sealed when keys are set (and
    unsealed ones refused, unless ``accept_plain``)."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    keys = parse_keys(codec_keys)
    if not keys:
        return dataclasses.replace(pydantic_data_converter, payload_codec=PlainCodec())
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keys, accept_plain=accept_plain),
                               payload_converter_class=SealedPayloadConverter,
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
