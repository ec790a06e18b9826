"""Who is calling: bearer tokens for the API, signed session cookies for the browser, CSRF,
and a limit on log-in attempts."""

from __future__ import annotations

import functools
import secrets
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine

from store import accounts

SESSION_COOKIE = "coopflow_session"
LOGIN_CSRF_COOKIE = "coopflow_login_csrf"
SESSION_MAX_AGE = 12 * 3600


def load_secret(explicit: str, data_dir: Path) -> str:
    """The signing key: COOPFLOW_SECRET_KEY, or one kept in the data dir (created once, mode 0600)."""
    if explicit:
        return explicit
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Sessions:
    """Signed, time-limited session cookies holding a user id and that session's CSRF token."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="coopflow-session")

    def issue(self, user_id: str) -> str:
        return self._serializer.dumps({"uid": user_id, "csrf": secrets.token_urlsafe(24)})

    def read(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and "uid" in data else None


class LoginLimiter:
    """At most ``limit`` failed log-ins per e-mail in ``window`` seconds, and four times as many per
    client address (an office behind one address must not lock itself out so easily)."""

    def __init__(self, limit: int = 5, window: float = 900) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        q, now = self._failures[key], time.monotonic()
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        return any(len(self._recent(k)) >= self.limit * (4 if k.startswith("ip:") else 1) for k in keys)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._recent(key).append(time.monotonic())

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)


_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash("not a password anyone has")


def check_password(engine: Engine, email: str, password: str) -> str | None:
    """The user id if the password is right; None otherwise (taking as long either way)."""
    try:
        user = accounts.user_by_email(engine, email)
    except Exception:
        user = None
    stored = user.password_hash if user and user.password_hash else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return user.id if user and user.password_hash else None


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))
