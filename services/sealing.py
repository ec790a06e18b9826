"""Sealing personal data: AES-256-GCM with a key of each data subject, wrapped by a key-encryption key.

A personal field's value is validated, then sealed here — in the web process or the command that
receives it, before it reaches Temporal — as ``sealed:v1:<base64url(nonce ‖ ciphertext ‖ tag)>``.
The key is the data key of the value's subject (a case, or a task's person: the template says), made
at its first use: 32 random bytes, kept in the store's ``data_key`` table wrapped (AES-256-GCM) by the
current key-encryption key (KEK), which never lives in the database. The associated data binds each
value to its project, task and field: a value moved anywhere else does not open. Destroying a
subject's data key (erasure) makes every copy of its values — in events, histories, exports,
backups — noise.

KEKs come from ``COOPFLOW_PERSONAL_DATA_KEYS`` (``id:base64key,…``, the first current, as the payload
codec's keys), or from the file ``personal-data.keys`` in the data dir. Workers never need them: they
record sealed values and destroy keys, but open nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Engine

from domain import DomainError, Template, canonical_json, format_time
from domain.personal import SEALED_PREFIX, is_sealed
from services.codec import new_key, parse_keys
from store import personal as store

KEY_FILE = "personal-data.keys"
NONCE = 12


class PersonalDataLocked(DomainError):
    """This process cannot seal or open personal data: its key-encryption key is missing or wrong."""

    code = "personal_data_locked"


class SealBroken(DomainError):
    """A sealed value does not open with its subject's key at its place: changed, or moved."""

    code = "sealed_value_broken"


class Erased(Exception):
    """The subject's data key is gone: its values were erased."""


class KeyNeeded(Exception):
    """A subject's first value is to be sealed, and this sealer may not make its key (a write): see
    ``Sealer(may_write=False)``."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def value_aad(project_id: str, task_id: str, field: str) -> bytes:
    return f"coopflow personal value v1\0{project_id}\0{task_id}\0{field}".encode()


def document_aad(project_id: str, task_id: str, field: str) -> bytes:
    return f"coopflow personal document v1\0{project_id}\0{task_id}\0{field}".encode()


def _wrap_aad(project_id: str, subject: str) -> bytes:
    return f"coopflow data key v1\0{project_id}\0{subject}".encode()


class KeyEncryptionKeys:
    """The KEKs a process has: the first seals (wraps) new data keys, any of them opens old ones."""

    def __init__(self, keys: dict[str, bytes], source: str) -> None:
        if not keys:
            raise ValueError("no key-encryption key")
        self.current, self.source = next(iter(keys)), source
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}

    def wrap(self, project_id: str, subject: str, key: bytes) -> tuple[str, str]:
        nonce = os.urandom(NONCE)
        sealed = self._ciphers[self.current].encrypt(nonce, key, _wrap_aad(project_id, subject))
        return self.current, base64.b64encode(nonce + sealed).decode()

    def unwrap(self, row: dict[str, Any]) -> bytes:
        cipher = self._ciphers.get(row["kek_id"])
        if cipher is None:
            raise PersonalDataLocked(
                f"The personal data of project {row['project_id']} is sealed with a key wrapped by the "
                f"key-encryption key {row['kek_id']!r}, which this process does not have ({self.source} lists "
                f"{', '.join(self._ciphers)}): give it the same COOPFLOW_PERSONAL_DATA_KEYS as the other processes, "
                "old keys after the current one. Nothing was changed.")
        raw = base64.b64decode(row["wrapped"])
        try:
            return cipher.decrypt(raw[:NONCE], raw[NONCE:], _wrap_aad(row["project_id"], row["subject"]))
        except InvalidTag:
            raise PersonalDataLocked(
                f"The data key {row['subject']!r} of project {row['project_id']} does not open with the "
                f"key-encryption key {row['kek_id']!r} of this process: that key differs from the one that "
                "wrapped it, or the stored key was changed or moved to another project or subject. Nothing was "
                "changed.") from None


def load_keks(*, setting: str, data_dir: Path) -> KeyEncryptionKeys | None:
    """``COOPFLOW_PERSONAL_DATA_KEYS`` when set; else the file in the data dir; else None."""
    if setting.strip():
        return KeyEncryptionKeys(parse_keys(setting), "COOPFLOW_PERSONAL_DATA_KEYS")
    path = data_dir / KEY_FILE
    if path.exists():
        return KeyEncryptionKeys(parse_keys(path.read_text(encoding="utf-8").strip()), str(path))
    return None


def make_key_file(data_dir: Path) -> Path:
    """The data dir's key-encryption key, made once (0600) unless it is there: what ``coopflow dev`` uses."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(new_key("kek1") + "\n")
    return path


NO_KEKS = ("This coopflow process has no key-encryption key for personal data: set COOPFLOW_PERSONAL_DATA_KEYS "
           "(as on the other processes), or give it the data dir whose personal-data.keys they use. It can neither "
           "seal nor open personal data; nothing was changed.")


class Sealer:
    """Seals and opens one project's personal values; data keys are read (or made) once per use."""

    def __init__(self, engine: Engine, keks: KeyEncryptionKeys | None, project_id: str, *,
                 may_write: bool = True) -> None:
        self._engine, self._keks, self.project_id = engine, keks, project_id
        self._may_write = may_write  # False: on an event loop, where a write must not wait (KeyNeeded)
        self._keys: dict[str, bytes | None] = {}
        self._ciphers: dict[str, AESGCM] = {}

    def _kek(self) -> KeyEncryptionKeys:
        if self._keks is None:
            raise PersonalDataLocked(NO_KEKS)
        return self._keks

    def _key(self, subject: str, *, create: bool) -> AESGCM | None:
        raw = self._raw_key(subject, create=create)
        if raw is None:
            return None
        if subject not in self._ciphers:
            self._ciphers[subject] = AESGCM(raw)
        return self._ciphers[subject]

    def _raw_key(self, subject: str, *, create: bool) -> bytes | None:
        if subject not in self._keys:
            row = store.data_key(self._engine, self.project_id, subject)
            if row is None and create:
                if not self._may_write:
                    raise KeyNeeded(subject)
                key = AESGCM.generate_key(bit_length=256)
                kek_id, wrapped = self._kek().wrap(self.project_id, subject, key)
                row = store.add_data_key(self._engine, project_id=self.project_id, subject=subject, kek_id=kek_id,
                                         wrapped=wrapped, created_at=format_time(datetime.now(UTC)))
            self._keys[subject] = self._kek().unwrap(row) if row is not None else None
        return self._keys[subject]

    def seal(self, subject: str, task_id: str, field: str, value: Any) -> str:
        """``value`` (already validated) as a token bound to this project, task and field."""
        key = self._key(subject, create=True)
        assert key is not None
        nonce = os.urandom(NONCE)
        data = canonical_json(value).encode()
        return SEALED_PREFIX + _b64(nonce + key.encrypt(nonce, data, value_aad(self.project_id, task_id, field)))

    def open(self, subject: str, task_id: str, field: str, token: str) -> Any:
        """The value a token holds; ``Erased`` when the subject's key is gone, ``SealBroken`` when the token
        was changed or does not belong here."""
        if not is_sealed(token):
            raise SealBroken(f"The value of {task_id}.{field} is not a sealed value.", {field: "not sealed"})
        key = self._key(subject, create=False)
        if key is None:
            raise Erased(subject)
        try:
            raw = _unb64(token.removeprefix(SEALED_PREFIX))
            data = key.decrypt(raw[:NONCE], raw[NONCE:], value_aad(self.project_id, task_id, field))
        except (InvalidTag, binascii.Error, ValueError):
            raise SealBroken(f"The sealed value of {task_id}.{field} in project {self.project_id} does not open: it "
                             "was changed, or it belongs to another field, task or project.",
                             {field: "does not open"}) from None
        return json.loads(data)

    def seal_bytes(self, subject: str, task_id: str, field: str, content: bytes) -> bytes:
        key = self._key(subject, create=True)
        assert key is not None
        nonce = os.urandom(NONCE)
        return nonce + key.encrypt(nonce, content, document_aad(self.project_id, task_id, field))

    def open_bytes(self, subject: str, task_id: str, field: str, sealed: bytes) -> bytes:
        key = self._key(subject, create=False)
        if key is None:
            raise Erased(subject)
        try:
            return key.decrypt(sealed[:NONCE], sealed[NONCE:], document_aad(self.project_id, task_id, field))
        except InvalidTag:
            raise SealBroken(f"The sealed document of {task_id}.{field} in project {self.project_id} does not open: "
                             "it was changed, or it belongs elsewhere.", {field: "does not open"}) from None

    def fingerprint_key(self, subject: str) -> bytes:
        """A key derived from the subject's data key, for digests of requests that hold its values: once the
        data key is destroyed, nobody can test a guess against such a digest."""
        raw = self._raw_key(subject, create=True)
        assert raw is not None
        return hmac.new(raw, b"coopflow request fingerprint v1", hashlib.sha256).digest()



def open_data(sealer: Sealer, template: Template, step: str, task_id: str, data: dict[str, Any]
              ) -> tuple[dict[str, Any], list[str], list[str]]:
    """A task's (or completion's) data with its sealed personal values opened: (data, the fields opened,
    the fields whose values were erased). Values the reader may not read were left out before."""
    fields = template.step(step).form
    sealed = [f.name for f in fields if f.personal and is_sealed(data.get(f.name))]
    if not sealed:
        return data, [], []
    opened, shown, erased = dict(data), [], []
    for name in sealed:
        try:
            opened[name] = sealer.open(template.subject_of(step, name, task_id), task_id, name, data[name])
            shown.append(name)
        except Erased:
            opened[name] = None
            erased.append(name)
    return opened, shown, erased
