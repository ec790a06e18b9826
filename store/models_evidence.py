"""The store's evidence tables: signed checkpoints over each trail, the kept checks that verification extends,
the signer's alarms, and the partners' witnesses with their cosignatures (docs/verification.md, docs/witness.md).
All are named in ``store.models`` too."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel


class Checkpoint(SQLModel, table=True):
    """A signed note over a project's trail at one size (append-only, like ``audit_event``)."""

    project_id: str = Field(primary_key=True)
    tree_size: int = Field(primary_key=True)
    root_hash: str  # hex, the RFC 6962 head over the first tree_size events' hashes
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: str


class TrailCheck(SQLModel, table=True):
    """A project's chain as last verified (docs/verification.md): a cache that is itself checked before it is
    used, replaced by every full check, extended by the landing page."""

    __tablename__ = "trail_check"
    project_id: str = Field(primary_key=True)
    size: int  # events 1..size verified
    head: str  # the hash of event ``size``
    frontier: str = Field(sa_column=Column(Text, nullable=False))  # hex roots over the first size - 1 hashes
    checkpoint_size: int | None = None  # the latest checkpoint's size when kept (≤ size)
    checkpoint_frontier: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    full_size: int  # how far the last full check (from the first event) went
    full_at: str  # when it ran
    checked_at: str  # when the kept check last moved


class TrailAlarm(SQLModel, table=True):
    """The signer refused to sign a project's trail: its chain was broken, or it no longer extended the last
    kept checkpoint (append-only: an alarm is a record, not a state to clear)."""

    __tablename__ = "trail_alarm"
    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(index=True)
    found_at: str
    size: int  # the trail's size when it was found
    reason: str = Field(sa_column=Column(Text, nullable=False))
    witness: str | None = None  # the organisation whose witness refused the checkpoint; None: the signer refused


class OrgWitness(SQLModel, table=True):
    """The witness an organisation runs (docs/witness.md): where coopflow asks it to cosign, and its key."""

    __tablename__ = "org_witness"
    org_id: str = Field(primary_key=True)
    url: str
    key: str  # its verifier key, <name>+<hex id>+<base64 key>
    registered_at: str


class Cosignature(SQLModel, table=True):
    """A witness's cosignature of a kept checkpoint (append-only, like the checkpoint it is kept with)."""

    project_id: str = Field(primary_key=True)
    tree_size: int = Field(primary_key=True)
    org_id: str = Field(primary_key=True)
    key_name: str
    line: str = Field(sa_column=Column(Text, nullable=False))  # "— <name> <base64>\n", appended to the note
    time: int = Field(sa_column=Column(BigInteger, nullable=False))  # when it cosigned, seconds since the epoch


class WitnessStatus(SQLModel, table=True):
    """How the submissions to an organisation's witness go for one project: the last size it cosigned, and
    since when it fails (the witness's words or the network's, never data)."""

    __tablename__ = "witness_status"
    project_id: str = Field(primary_key=True)
    org_id: str = Field(primary_key=True)
    cosigned_size: int = 0
    tried_size: int = 0  # the checkpoint size last submitted
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failing_since: str | None = None
    updated_at: str
