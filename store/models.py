"""Tables: organisations, users, the project and task read models, and the audit events; the evidence tables
(checkpoints, kept checks, alarms, witnesses) are in ``store/models_evidence.py`` and named here too."""

from __future__ import annotations

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from store.models_evidence import Checkpoint, Cosignature, OrgWitness, TrailAlarm, TrailCheck, WitnessStatus

__all__ = ["AuditEvent", "CalendarFeed", "Checkpoint", "Cosignature", "DataKey", "Digest", "Document",
           "IdempotencyKey", "Incident", "LoginThrottle", "OrgWitness", "Organisation", "OutboxMail",
           "PersonalDataRead", "Project", "ProjectPartner", "Substitute", "Task", "TrailAlarm", "TrailCheck",
           "User", "WebSession", "WitnessStatus"]


class Organisation(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    country: str


class User(SQLModel, table=True):
    id: str = Field(primary_key=True)
    email: str = Field(unique=True, index=True)
    name: str = ""
    org_id: str = Field(foreign_key="organisation.id", index=True)
    role: str
    token_hash: str | None = Field(default=None, unique=True, index=True)
    password_hash: str | None = None
    lang: str = "en"  # the language of the user's mail (de, en, sr, mk, sq)
    # active; disabled (no log-in, no token, no mail; enabling restores it); removed (its password and token
    # erased too; the row stays, for the trail's events name its id)
    status: str = "active"
    # immediate (a mail for each new task) or daily (one digest at 07:00 in ``timezone``); see activities/digests.py
    mail: str = "immediate"
    timezone: str = "UTC"  # an IANA name: when the day's digest comes, and the times mail and calendar show


class Project(SQLModel, table=True):
    """The list read model: one row per project, written with its events."""

    # the lists page on these keys (store/lists.py)
    __table_args__ = (Index("ix_project_started", "started_at", "id"), Index("ix_project_updated", "updated_at", "id"),
                      Index("ix_project_lead_started", "lead", "started_at", "id"))
    id: str = Field(primary_key=True)
    title: str
    template_id: str
    template_version: int
    lead: str = Field(index=True)
    partners: str = Field(sa_column=Column(Text, nullable=False))  # JSON list, in the order given
    status: str
    phase: str | None
    seq: int
    head: str
    started_at: str
    updated_at: str
    # JSON: whether its personal data is kept or erased (when, by whom, why), and sealed; null for a
    # project without personal data, or one that ended before sealing
    personal_data: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ProjectPartner(SQLModel, table=True):
    """Who is in which project, for "the projects I am in"."""

    project_id: str = Field(primary_key=True, foreign_key="project.id")
    org_id: str = Field(primary_key=True, index=True)
    position: int = 0


class Task(SQLModel, table=True):
    """The inbox read model: a task's columns to filter by, and its full view as JSON."""

    __table_args__ = (Index("ix_task_inbox", "assignee", "status", "due_at"),)
    project_id: str = Field(primary_key=True, foreign_key="project.id")
    id: str = Field(primary_key=True)
    step: str
    assignee: str
    status: str
    due_at: str
    request_id: str | None = None
    view: str = Field(sa_column=Column(Text, nullable=False))
    seq: int = 0  # the project's seq when this view was written: an older write never replaces a newer one
    holder: str | None = Field(default=None, index=True)  # the user id of the person who holds it, if anyone


class Substitute(SQLModel, table=True):
    """Who stands in for a person while they are away: from ``starts_on`` to ``ends_on`` (both days included,
    dates in UTC) the substitute sees the person's held tasks, may complete them, and gets their mail."""

    user_id: str = Field(primary_key=True)  # the absent person (one substitute at a time)
    substitute_id: str = Field(index=True)
    starts_on: str  # YYYY-MM-DD
    ends_on: str
    created_at: str


class AuditEvent(SQLModel, table=True):
    """One domain event, exactly as sealed; (project_id, seq) is unique by the primary key."""

    __tablename__ = "audit_event"
    # the auditor's filters: by time, organisation, user and type, each within one project
    __table_args__ = (Index("ix_audit_event_project_at", "project_id", "at"),
                      Index("ix_audit_event_project_org", "project_id", "actor_org", "seq"),
                      Index("ix_audit_event_project_user", "project_id", "actor_user", "seq"),
                      Index("ix_audit_event_project_type", "project_id", "type", "seq"))
    project_id: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    type: str
    at: str
    actor_user: str | None = None
    actor_org: str | None = None
    actor_role: str | None = None
    phase: str | None = None
    step: str | None = None
    task_id: str | None = None
    data: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str
    hash: str


class Incident(SQLModel, table=True):
    """A project whose events the store refused for a reason that retrying cannot cure.

    The workflow keeps those events and waits for an operator (``coopflow incident retry``);
    the row goes away in the same transaction as the write that finally succeeds.
    """

    project_id: str = Field(primary_key=True)
    seq: int  # the first event the store refused
    since: str
    reason: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 1


class WebSession(SQLModel, table=True):
    """A browser session, kept here so that every web process knows it and log-out ends it.

    The cookie holds a random token; only its hash is stored.
    """

    __tablename__ = "web_session"
    token_hash: str = Field(primary_key=True)
    user_id: str = Field(index=True)
    csrf: str
    created_at: float  # seconds since the epoch
    seen_at: float


class LoginThrottle(SQLModel, table=True):
    """Failed log-ins per key (an e-mail with an address, an e-mail, an address), shared by web processes."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True)
    failures: int = 0
    last_failure: float = Field(index=True)
    wait_until: float = 0


class IdempotencyKey(SQLModel, table=True):
    """A request a user sent with an Idempotency-Key: the key is that user's, for that route only,
    and a repeat must carry the same body (its fingerprint)."""

    __tablename__ = "idempotency_key"
    user_id: str = Field(primary_key=True)
    route: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    fingerprint: str
    created_at: float = Field(index=True)


class OutboxMail(SQLModel, table=True):
    """A mail to send, written in the same transaction as the event that causes it.

    ``message_id`` comes from (project, seq, recipient): a write retried writes no second row, and a
    receiver sees the same Message-ID should a send be repeated after a crash.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    message_id: str = Field(primary_key=True)
    project_id: str = Field(index=True)
    seq: int
    recipient: str  # a user id
    to_address: str
    lang: str
    kind: str  # task_opened, reminder, overdue, escalation, project_ended, task_reassigned, …
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: str
    status: str = "pending"  # pending, sent, failed
    attempts: int = 0
    next_attempt_at: float = 0
    lease_until: float = 0  # a sender working on it; others leave it alone until then
    sent_at: str | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Document(SQLModel, table=True):
    """A document uploaded to a project; its content lives in the document storage under ``sha256``.

    A completion may name it only in its own project: (project_id, sha256) is the key.
    """

    project_id: str = Field(primary_key=True)
    sha256: str = Field(primary_key=True)
    name: str
    size: int
    media_type: str
    uploaded_by: str  # a user id
    uploaded_at: str
    # a document of a personal field: "<task id>.<field>"; its content is sealed with the subject's data
    # key, ``sha256`` is the sealed content's, and ``name`` is sealed too
    sealed_for: str | None = None


class DataKey(SQLModel, table=True):
    """A data subject's key, which seals their personal values (AES-256-GCM), wrapped by a key-encryption
    key that never lives in the database. Of what records a project, the only rows coopflow ever deletes
    (the trail, checkpoints and the reading record are append-only): destroying a subject's key
    erases every value sealed with it, wherever a copy of that value is."""

    __tablename__ = "data_key"
    project_id: str = Field(primary_key=True)
    subject: str = Field(primary_key=True)  # "case", or "task-<id>" (a person of each task)
    kek_id: str  # which key-encryption key wrapped it
    wrapped: str  # base64: nonce ‖ the wrapped key ‖ tag
    created_at: str


class PersonalDataRead(SQLModel, table=True):
    """Who was shown which personal fields of a project, when, and how (append-only; never the values)."""

    __tablename__ = "personal_data_read"
    id: int | None = Field(default=None, primary_key=True)
    project_id: str = Field(index=True)
    at: str
    user_id: str
    org: str
    role: str
    fields: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of "<task id>.<field>"
    via: str  # page, api, export


class Digest(SQLModel, table=True):
    """A person's daily digest for one local date: at most one a day, written in the transaction that adds its
    mail to the outbox (none when there was nothing to say: the row alone says the day was done)."""

    user_id: str = Field(primary_key=True)
    local_date: str = Field(primary_key=True)  # YYYY-MM-DD in the person's timezone
    at: str  # when it was made: the next digest's new tasks are those opened after this
    tasks: int = 0  # how many tasks it listed (0: nothing to say, nothing sent)


class CalendarFeed(SQLModel, table=True):
    """A person's calendar feed: the secret of its URL, stored only as its SHA-256 (one per person; a new one
    replaces the old, which then answers 404)."""

    __tablename__ = "calendar_feed"
    user_id: str = Field(primary_key=True)
    secret_hash: str = Field(unique=True)
    created_at: str

