"""Organisations and users. API tokens and passwords are stored only as hashes."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets

import sqlalchemy
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from domain import InvalidRequest, NotFound
from store.db import session
from store.models import Organisation, User

ORG_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ROLES = ("coordinator", "partner", "auditor")
STATUSES = ("active", "disabled", "removed")
_HASHER = PasswordHasher()


def hash_token(token: str) -> str:
    """API tokens are long random strings, so one SHA-256 suffices (no salt, constant lookup)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "cf_" + secrets.token_urlsafe(32)


def add_org(engine: Engine, *, org_id: str, name: str, country: str) -> Organisation:
    if not ORG_ID.match(org_id):
        raise InvalidRequest(f"'{org_id}' is not a valid organisation id: use a-z, 0-9 and '-', "
                             "starting with a letter or digit.", {"id": "invalid"})
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        raise InvalidRequest(f"'{country}' is not a two-letter country code such as DE or RS.",
                             {"country": "invalid"})
    if not name.strip():
        raise InvalidRequest("An organisation needs a name.", {"name": "is required"})
    with session(engine) as s:
        if s.get(Organisation, org_id) is not None:
            raise InvalidRequest(f"Organisation '{org_id}' exists already.", {"id": "exists"})
        org = Organisation(id=org_id, name=name.strip(), country=country.upper())
        s.add(org)
        s.commit()
        return org


LANGS = ("de", "en", "sr", "mk", "sq")


def add_user(engine: Engine, *, email: str, org_id: str, role: str, name: str = "",
             password: str | None = None, lang: str = "en") -> tuple[User, str]:
    """Add a user; returns it and its API token, which is shown once and stored only hashed."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidRequest(f"'{email}' is not an e-mail address.", {"email": "invalid"})
    if role not in ROLES:
        raise InvalidRequest(f"'{role}' is not a role; use one of {', '.join(ROLES)}.", {"role": "invalid"})
    if lang not in LANGS:
        raise InvalidRequest(f"'{lang}' is not a language of coopflow; use one of {', '.join(LANGS)}.",
                             {"lang": "invalid"})
    token = new_token()
    with session(engine) as s:
        if s.get(Organisation, org_id) is None:
            raise InvalidRequest(f"There is no organisation '{org_id}'.", {"org": "unknown"})
        existing = s.exec(select(User).where(User.email == email)).first()
        if existing is not None and existing.status == "removed":
            raise InvalidRequest(f"A user with e-mail {email} was removed (its row stays: the audit trail names it). "
                                 f"`coopflow user enable {email}` brings it back; then give it a password and a "
                                 "token.", {"email": "removed"})
        if existing is not None:
            raise InvalidRequest(f"A user with e-mail {email} exists already.", {"email": "exists"})
        user = User(id="u-" + secrets.token_hex(6), email=email, name=name, org_id=org_id, role=role,
                    token_hash=hash_token(token), lang=lang,
                    password_hash=_HASHER.hash(password) if password else None)
        s.add(user)
        s.commit()
        return user, token


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash("not a password anyone has")


def verify_password(engine: Engine, email: str, password: str) -> str | None:
    """The user id if the password is right; None otherwise (taking as long either way: argon2 runs always)."""
    user = None
    if EMAIL.match(email) and len(email) <= 320:
        with session(engine) as s:
            user = s.exec(select(User).where(User.email == email.strip().lower())).first()
    stored = user.password_hash if user and user.password_hash else _dummy_hash()
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return user.id if user and user.password_hash and user.status == "active" else None


def set_password(engine: Engine, email: str, password: str) -> str:
    """A new password (stored as an argon2 hash); returns the user's id."""
    if len(password) < 8:
        raise InvalidRequest("A password has at least 8 characters.", {"password": "is too short"})
    with session(engine) as s:
        user = s.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise NotFound(f"There is no user with e-mail {email}.")
        user.password_hash = _HASHER.hash(password)
        s.add(user)
        s.commit()
        return user.id


def set_status(engine: Engine, email: str, status: str) -> User:
    """Make a user active, disabled or removed. Only an active user logs in, uses its API token and gets
    mail. Removal also erases its password and token; the row stays, with its e-mail, because the audit
    trail's events name the user's id (and exports say whose it is)."""
    assert status in STATUSES
    with session(engine) as s:
        user = s.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise NotFound(f"There is no user with e-mail {email}.", {"email": "unknown"})
        if user.status == "removed" and status == "disabled":
            raise InvalidRequest(f"The user {user.email} was removed; it cannot be disabled as well.",
                                 {"email": "removed"})
        user.status = status
        if status == "removed":
            user.password_hash = user.token_hash = None
        s.add(user)
        s.commit()
        return user


def rotate_token(engine: Engine, email: str) -> str:
    token = new_token()
    with session(engine) as s:
        user = s.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise NotFound(f"There is no user with e-mail {email}.")
        user.token_hash = hash_token(token)
        s.add(user)
        s.commit()
    return token


def user_by_email(engine: Engine, email: str) -> User:
    with session(engine) as s:
        user = s.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(f"There is no user with e-mail {email}.", {"email": "unknown"})
    return user


def user_id_by_email(engine: Engine, email: str) -> str | None:
    with session(engine) as s:
        return s.exec(select(User.id).where(User.email == email.strip().lower())).first()


_USERS = User.__table__  # type: ignore[attr-defined]
_BY_TOKEN = sqlalchemy.select(_USERS.c.id, _USERS.c.org_id, _USERS.c.role).where(
    _USERS.c.token_hash == sqlalchemy.bindparam("token_hash"), _USERS.c.status == "active")


def user_by_token(engine: Engine, token: str) -> tuple[str, str, str] | None:
    """The user id, organisation and role of the token's user, if it is active. Every API request asks
    this: one compiled statement, no ORM session."""
    with engine.connect() as conn:
        row = conn.execute(_BY_TOKEN, {"token_hash": hash_token(token)}).first()
    return (row.id, row.org_id, row.role) if row else None


def existing_orgs(engine: Engine, ids: list[str]) -> set[str]:
    with session(engine) as s:
        return set(s.exec(select(Organisation.id).where(col(Organisation.id).in_(ids))))


def auditor_orgs(engine: Engine, ids: list[str]) -> set[str]:
    """Those of ``ids`` whose users audit: they examine projects, they are never partners in one."""
    with session(engine) as s:
        return set(s.exec(select(User.org_id).where(User.role == "auditor", col(User.org_id).in_(ids))))


def has_orgs(engine: Engine) -> bool:
    with session(engine) as s:
        return s.exec(select(Organisation.id).limit(1)).first() is not None


def list_orgs(engine: Engine) -> list[Organisation]:
    with session(engine) as s:
        return list(s.exec(select(Organisation).order_by(col(Organisation.id))))


def emails_by_user_id(engine: Engine) -> dict[str, str]:
    """For exports: who each user id in the trail is."""
    with session(engine) as s:
        return dict(s.exec(select(User.id, User.email)).all())


def user_by_id(engine: Engine, user_id: str) -> User | None:
    with session(engine) as s:
        return s.get(User, user_id)


def set_lang(engine: Engine, user_id: str, lang: str) -> None:
    """The language of the user's pages (after log-in) and mail."""
    if lang not in LANGS:
        raise InvalidRequest(f"'{lang}' is not a language of coopflow; use one of {', '.join(LANGS)}.",
                             {"lang": "invalid"})
    with session(engine) as s:
        user = s.get(User, user_id)
        if user is None:
            raise NotFound(f"There is no user with id {user_id}.", {"user": "unknown"})
        user.lang = lang
        s.add(user)
        s.commit()


def partner_candidates(engine: Engine, *, lead: str) -> list[Organisation]:
    """Organisations a project led by ``lead`` can invite: all others but those of auditors."""
    auditors = select(User.org_id).where(User.role == "auditor")
    with session(engine) as s:
        return list(s.exec(select(Organisation).where(Organisation.id != lead, col(Organisation.id).not_in(auditors))
                           .order_by(col(Organisation.id))))
