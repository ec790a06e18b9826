"""The browser's side of who is calling: the session cookie, the deployment's signing key, CSRF."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from itsdangerous import BadData, BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from store.web_state import SESSION_MAX

SESSION_COOKIE = "coopflow_session"
LOGIN_CSRF_COOKIE = "coopflow_login_csrf"
SESSION_MAX_AGE = int(SESSION_MAX)
BROWSER_COOKIE = "coopflow_browser"
BROWSER_MAX_AGE = 365 * 86400  # seconds a browser stays known to an account after its last log-in


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


class Browsers:
    """The browser a person has logged in with before: a long-lived cookie, signed with the deployment's key,
    that names the account (by a keyed digest of its e-mail, not the e-mail) and the browser (a random id),
    renewed at each log-in. The log-in throttle counts a known browser's failures on their own instead of
    with the account's from everywhere: someone guessing the password elsewhere cannot keep the owner out."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="coopflow-browser-v1")
        self._key = secret.encode()

    def cookie(self, email: str, browser: str | None) -> str:
        """The cookie for a log-in to ``email``: the browser's id kept, or a new one."""
        return self._serializer.dumps([self._account(email), browser or secrets.token_urlsafe(18)])

    def known(self, cookie: str | None, email: str) -> str | None:
        """The browser's id if it has logged in to ``email`` within ``BROWSER_MAX_AGE``, else None."""
        if not cookie or len(cookie) > 500:
            return None
        try:
            found = self._serializer.loads(cookie, max_age=BROWSER_MAX_AGE)
        except BadData:
            return None
        if isinstance(found, list) and len(found) == 2 and isinstance(found[1], str) and same(
                found[0], self._account(email)):
            return found[1]
        return None

    def _account(self, email: str) -> str:
        return hmac.new(self._key, email.strip().lower().encode("utf-8", "replace"), "sha256").hexdigest()[:32]


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and secrets.compare_digest(str(a), str(b))
