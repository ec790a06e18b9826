"""What every web process must share: browser sessions, log-in throttles, idempotency keys.

Kept in the store so that several `coopflow web` processes behind a load balancer agree: a
session ended in one is ended in all, a throttle counts attempts wherever they arrive, and a
repeated request finds its key whichever process it reaches.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from domain import DomainError
from store.db import writer_lock
from store.models import IdempotencyKey, LoginThrottle, User, WebSession

SESSION_IDLE = 2 * 3600  # seconds without a request before a session ends
SESSION_MAX = 12 * 3600  # seconds a session lasts at most
KEY_DAYS = 30  # an idempotency key is remembered this long

S, U = WebSession.__table__, User.__table__  # type: ignore[attr-defined]
T, K = LoginThrottle.__table__, IdempotencyKey.__table__  # type: ignore[attr-defined]


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _insert(engine: Engine, table: Any) -> Any:
    return (postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert)(table)


# -- sessions ----------------------------------------------------------------------------------
def create_session(engine: Engine, *, user_id: str, now: float) -> tuple[str, str]:
    """A new session: (the cookie's token, the session's CSRF token). The sessions that expired meanwhile,
    anyone's, go with it: most are never used again, so nothing else would remove them."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(S).where((S.c.created_at < now - SESSION_MAX) | (S.c.seen_at < now - SESSION_IDLE)))
        conn.execute(S.insert(), {"token_hash": _hash(token), "user_id": user_id, "csrf": csrf,
                                  "created_at": now, "seen_at": now})
    return token, csrf


def read_session(engine: Engine, token: str, *, now: float) -> tuple[Any, str] | None:
    """The session's user row and CSRF token, if the session is live; it counts as a request (idle timeout)."""
    query = (select(U, S.c.csrf, S.c.created_at, S.c.seen_at).join(S, S.c.user_id == U.c.id)
             .where(S.c.token_hash == _hash(token)))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    if now - row.created_at > SESSION_MAX or now - row.seen_at > SESSION_IDLE:
        end_session(engine, token)
        return None
    if now - row.seen_at > 60:  # at most one write a minute per session
        with writer_lock(engine), engine.begin() as conn:
            conn.execute(update(S).where(S.c.token_hash == _hash(token)).values(seen_at=now))
    return row, row.csrf


def end_session(engine: Engine, token: str) -> None:
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(S).where(S.c.token_hash == _hash(token)))


def end_sessions_of(engine: Engine, user_id: str) -> int:
    """Every session of a user ends (log out everywhere; a new password). Returns how many there were."""
    with writer_lock(engine), engine.begin() as conn:
        return int(conn.execute(delete(S).where(S.c.user_id == user_id)).rowcount or 0)


# -- log-in throttles ----------------------------------------------------------------------------
def login_wait(engine: Engine, keys: list[str], *, now: float) -> float:
    """Seconds to wait before another attempt under any of ``keys`` (0: go ahead)."""
    with engine.connect() as conn:
        until = conn.execute(select(T.c.wait_until).where(T.c.key.in_(keys))).scalars().all()
    return max([u - now for u in until] + [0.0])


def login_failed(engine: Engine, policy: dict[str, tuple[int, float]], *, now: float) -> None:
    """Count a failure under each key; ``policy[key] = (free attempts, longest wait)``: after the free
    attempts, each failure doubles the wait (1 s, 2 s, 4 s …) up to the longest."""
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(T).where(T.c.last_failure < now - 86400))  # the table stays bounded
        found: dict[str, int] = dict(conn.execute(select(T.c.key, T.c.failures).where(
            T.c.key.in_(list(policy)))).all())
        for key, (free, longest) in policy.items():
            failures = found.get(key, 0) + 1
            wait = 0.0 if failures <= free else min(2.0 ** (failures - free - 1), longest)
            values = {"failures": failures, "last_failure": now, "wait_until": now + wait}
            if key in found:
                conn.execute(update(T).where(T.c.key == key).values(values))
            else:
                conn.execute(T.insert(), {"key": key, **values})


def login_succeeded(engine: Engine, keys: list[str]) -> None:
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(T).where(T.c.key.in_(keys)))


# -- idempotency keys ----------------------------------------------------------------------------
def claim_key(engine: Engine, *, user_id: str, route: str, key: str, fingerprint: str, now: float) -> bool:
    """Note that this user sent ``key`` on ``route`` with this body; True the first time.

    A repeat with the same body is fine (False); with another body it is refused, so that a
    key never silently stands for two different requests.
    """
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(K).where(K.c.user_id == user_id, K.c.created_at < now - KEY_DAYS * 86400))
        inserted = conn.execute(_insert(engine, K).on_conflict_do_nothing().returning(K.c.key), {
            "user_id": user_id, "route": route, "key": key, "fingerprint": fingerprint, "created_at": now}).first()
        if inserted is not None:
            return True
        first = conn.execute(select(K.c.fingerprint).where(
            K.c.user_id == user_id, K.c.route == route, K.c.key == key)).scalar_one()
    if first != fingerprint:
        raise IdempotencyConflict("This Idempotency-Key was already used for a different request. Use a new key "
                                  "for a new request; repeat a request only exactly as it was.",
                                  {"Idempotency-Key": "was used with another body"})
    return False


def key_claimed_at(engine: Engine, *, user_id: str, route: str, key: str) -> float:
    """When this user's key on this route was first used: with the key, it names what the request made, so
    that a key used again after it was forgotten (``KEY_DAYS``) makes something new."""
    with engine.connect() as conn:
        at: float = conn.execute(select(K.c.created_at).where(
            K.c.user_id == user_id, K.c.route == route, K.c.key == key)).scalar_one()
    return at


def release_key(engine: Engine, *, user_id: str, route: str, key: str) -> None:
    """Forget a key whose request was refused before it did anything (it may be used again)."""
    with writer_lock(engine), engine.begin() as conn:
        conn.execute(delete(K).where(K.c.user_id == user_id, K.c.route == route, K.c.key == key))
