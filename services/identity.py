"""Use cases: who is calling — API tokens, browser sessions, log-in and its throttle, passwords."""

from __future__ import annotations

import hashlib
import math
import time

from domain import Actor, DomainError, InvalidRequest
from services.base import AppBase
from store import accounts, web_state
from store.models import User


class Unauthorized(DomainError):
    code = "unauthorized"


class TooManyAttempts(DomainError):
    code = "too_many_attempts"


# failed log-ins a key is allowed before each further one doubles the wait, up to the longest wait:
# an e-mail from one address is slowed soon; an e-mail from anywhere only a little, so that someone
# guessing cannot keep its owner out for long; one address trying many e-mails, after many. A browser
# that logged in to the account before ("known") is counted on its own instead of with the account
# from anywhere: the owner gets in while someone guessing elsewhere keeps the account's wait up.
LOGIN_POLICY = {"pair": (3, 300.0), "account": (10, 60.0), "address": (30, 300.0)}


class Identity(AppBase):
    _names: tuple[float, dict[str, str]] | None = None

    def actor_for_email(self, email: str) -> Actor:
        user = accounts.user_by_email(self.engine, email)
        if user.status != "active":
            raise InvalidRequest(f"The user {user.email} is {user.status}: it cannot act "
                                 f"(`coopflow user enable {user.email}` lets it again).", {"email": user.status})
        return Actor(user=user.id, org=user.org_id, role=user.role)

    def actor_for_token(self, token: str) -> Actor | None:
        found = accounts.user_by_token(self.engine, token)
        return Actor(user=found[0], org=found[1], role=found[2]) if found else None

    def user_emails(self) -> dict[str, str]:
        return accounts.emails_by_user_id(self.engine)

    def org_names(self) -> dict[str, str]:
        """Every organisation's name by id, for pages; read at most every 30 s (organisations change rarely)."""
        now = time.monotonic()
        if self._names is None or now - self._names[0] > 30:
            self._names = (now, {o.id: o.name for o in accounts.list_orgs(self.engine)})
        return self._names[1]

    def language(self, actor: Actor) -> str:
        """The language the user chose: their pages after log-in, and their mail."""
        user = accounts.user_by_id(self.engine, actor.user)
        return user.lang if user else "en"

    def set_language(self, actor: Actor, lang: str) -> None:
        """The user picked another language (the pages' switcher): their mail follows it too."""
        accounts.set_lang(self.engine, actor.user, lang)

    # -- browser sessions (blocking: the web runs these in a thread) ------------------------------
    def log_in(self, email: str, password: str, address: str, known: str | None = None) -> tuple[str, str]:
        """A new session (its token and CSRF token) for the right password; throttled per account (or per
        ``known`` browser, the id of one that logged in to this account before) and address."""
        email = email.strip().lower()
        account = hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]  # no e-mails in this table
        own = f"browser:{hashlib.sha256(known.encode()).hexdigest()[:32]}" if known else f"account:{account}"
        keys = {f"pair:{account}|{address}": LOGIN_POLICY["pair"], own: LOGIN_POLICY["account"],
                f"address:{address}": LOGIN_POLICY["address"]}
        now = time.time()
        wait = web_state.login_wait(self.engine, list(keys), now=now)
        if wait > 0:
            seconds = math.ceil(wait)
            raise TooManyAttempts(f"Too many failed log-ins: try again in {seconds} seconds.", {"retry_after": seconds})
        user_id = accounts.verify_password(self.engine, email, password)
        if user_id is None:
            web_state.login_failed(self.engine, keys, now=now)
            raise Unauthorized("The e-mail address or the password is not right.")
        web_state.login_succeeded(self.engine, [k for k in keys if not k.startswith("address:")])
        return web_state.create_session(self.engine, user_id=user_id, now=now)

    def session(self, token: str) -> tuple[Actor, str] | None:
        """The signed-in user and the session's CSRF token, while the session lives (idle and overall limits)."""
        found = web_state.read_session(self.engine, token, now=time.time())
        if found is None:
            return None
        user, csrf = found
        if user.status != "active":  # disabled while this session was being made
            return None
        return Actor(user=user.id, org=user.org_id, role=user.role), csrf

    def log_out(self, token: str) -> None:
        web_state.end_session(self.engine, token)

    def log_out_everywhere(self, actor: Actor) -> int:
        """Every session of the actor ends, in every browser; returns how many."""
        return web_state.end_sessions_of(self.engine, actor.user)

    # -- a user's status (operators: the CLI) --------------------------------------------------------
    def disable_user(self, email: str) -> int:
        """The user can no longer log in or use its API token and gets no mail; every session of theirs
        ends. Returns how many sessions ended."""
        return web_state.end_sessions_of(self.engine, accounts.set_status(self.engine, email, "disabled").id)

    def enable_user(self, email: str) -> User:
        """A disabled or removed user may act again (a removed one has no password or token until given one)."""
        return accounts.set_status(self.engine, email, "active")

    def remove_user(self, email: str) -> int:
        """As ``disable_user``, and its password and API token are erased; the row stays (the trail names it)."""
        return web_state.end_sessions_of(self.engine, accounts.set_status(self.engine, email, "removed").id)

    def set_password(self, email: str, password: str) -> int:
        """A user's new password; every session of theirs ends. Returns how many sessions ended."""
        return web_state.end_sessions_of(self.engine, accounts.set_password(self.engine, email, password))
