"""The browser's side of who is calling: the session cookie, the deployment's signing key, CSRF."""

from __future__ import annotations

import secrets
from pathlib import Path

from itsdangerous import BadSignature, URLSafeSerializer

from store.web_state import SESSION_MAX

SESSION_COOKIE = "coopflow_session"
LOGIN_CSRF_COOKIE = "coopflow_login_csrf"
SESSION_MAX_AGE = int(SESSION_MAX)


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
    """The session cookie: the session's random token, signed with the deployment's key, so that a
    forged or foreign cookie is refused before any lookup. The session itself lives in the store
    (see ``Identity.session``): log-out there ends it in every web process."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="coopflow-session-v2")

    def cookie(self, token: str) -> str:
        return self._serializer.dumps(token)

    def token(self, cookie: str | None) -> str | None:
        if not cookie or len(cookie) > 500:
            return None
        try:
            token = self._serializer.loads(cookie)
        except BadSignature:
            return None
        return token if isinstance(token, str) else None


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))
