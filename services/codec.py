"""Encrypted payloads: what coopflow hands Temporal is sealed with AES-256-GCM before it leaves the
process, so the workflow engine's database holds no form value, name or comment in clear text.

Keys come from ``COOPFLOW_CODEC_KEYS``: ``id:base64key`` pairs separated by commas, the first one
current. New payloads are sealed with the current key and carry its id in their metadata; a payload
sealed with an older key is still opened while that key is listed, so keys rotate by putting a new
one first and dropping the old one once no open history needs it. Payloads that were never sealed
(written before the codec was switched on) pass through unchanged.

Workflow ids, search attributes and memo are not payloads Temporal lets a codec touch: coopflow puts
no personal data there (``tests/deploy/test_codec.py`` scans them).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

from domain import DomainError, InvalidRequest

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE = 12


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


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each whole payload (metadata and data), the key's id beside it."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("an encryption codec needs a key")
        self.current = next(iter(keys))
        self.ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self.ciphers[self.current]
        sealed = []
        for p in payloads:
            nonce = os.urandom(NONCE)
            sealed.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self.current.encode()},
                                  data=nonce + cipher.encrypt(nonce, p.SerializeToString(), None)))
        return sealed

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        opened = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                opened.append(p)  # never sealed: written before the codec was on
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode()
            cipher = self.ciphers.get(key_id)
            if cipher is None:
                raise CodecKeysMissing(f"Temporal holds payloads sealed with the key {key_id!r}, which "
                                       "COOPFLOW_CODEC_KEYS does not list (keep old keys after the current one).")
            opened.append(Payload.FromString(cipher.decrypt(p.data[:NONCE], p.data[NONCE:], None)))
        return opened


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


def data_converter(codec_keys: str) -> DataConverter:
    """The pydantic data converter, with payloads and failure messages sealed when keys are set."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    keys = parse_keys(codec_keys)
    if not keys:
        return dataclasses.replace(pydantic_data_converter, payload_codec=PlainCodec())
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keys),
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
