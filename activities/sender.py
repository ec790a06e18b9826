"""The mail sender: a small loop in each worker that delivers the outbox over SMTP.

Each round sends the mails that are due on one SMTP connection, claiming them one at a time (a
lease, so that several workers never send the same one): a lease covers one mail's few SMTP
exchanges, never a whole round, however slow the server. Each mail is marked sent, or failed for
now, whatever went wrong with it, and the round goes on with the next: a failed mail is tried
again after 1, 2, 4 … minutes (at most an hour apart), and after eight attempts it stays
``failed`` for a person to see (`coopflow mail list --status failed`). A mail that cannot even be
written (a header with a line break, from a row of an older version) fails at once: it never
could be sent. Without an SMTP host the loop does not run: mail waits in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import structlog
from sqlalchemy.engine import Engine

from domain import format_time
from store import is_unavailable
from store.outbox import claim_next, mark_failed, mark_sent

log = structlog.get_logger("coopflow.mail")


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    sender: str = "coopflow@localhost"


class MailSender:
    def __init__(self, engine: Engine, smtp: Smtp, *, every: float = 2.0, lease: float = 120.0) -> None:
        self.engine, self.smtp, self.every, self.lease = engine, smtp, every, lease

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; a round that sent something is followed by the next at once."""
        log.info("mail sender started", smtp=f"{self.smtp.host}:{self.smtp.port}")
        while not stop.is_set():
            try:
                sent = await asyncio.to_thread(self.send_due)
            except Exception as error:  # the store is away, say: the next round tries again
                level = log.warning if is_unavailable(error) else log.error
                level("mail round failed", error=str(error).split("\n")[0][:300])
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every)

    def send_due(self, limit: int = 20) -> int:
        """One round of at most ``limit`` mails: returns how many were sent."""
        mail = claim_next(self.engine, now=time.time(), lease=self.lease)
        if mail is None:
            return 0
        try:
            connection = self._connect()
        except Exception as error:  # the server is away: this mail waits, the others are not even claimed
            self._failed(mail, error)
            return 0
        sent = tried = 0
        with connection:
            while mail is not None:
                sent, tried = sent + self._send(connection, mail), tried + 1
                mail = claim_next(self.engine, now=time.time(), lease=self.lease) if tried < limit else None
        return sent

    def _send(self, connection: smtplib.SMTP, mail: dict[str, Any]) -> int:
        """Send one mail; any error is this mail's failure alone. Returns 1 if it was sent."""
        try:
            message = self._message(mail)
        except Exception as error:  # e.g. a line break in a header: it never can be sent
            self._failed(mail, error, final=True)
            return 0
        try:
            connection.send_message(message)
        except Exception as error:
            self._failed(mail, error)
            return 0
        mark_sent(self.engine, mail["message_id"], at=format_time(datetime.now(UTC)))
        log.info("mail sent", project_id=mail["project_id"], seq=mail["seq"], kind=mail["kind"])
        return 1

    def _connect(self) -> smtplib.SMTP:
        connection = smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=15)
        if self.smtp.starttls:
            connection.starttls()
        if self.smtp.user:
            connection.login(self.smtp.user, self.smtp.password)
        return connection

    def _message(self, mail: dict[str, Any]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.smtp.sender
        message["To"] = mail["to_address"]
        message["Subject"] = mail["subject"]
        message["Message-ID"] = mail["message_id"]
        message["Date"] = format_datetime(datetime.now(UTC))
        message.set_content(mail["body"])
        message["Content-Language"] = mail["lang"]  # after the content, which would drop it
        return message

    def _failed(self, mail: dict[str, Any], error: Exception, *, final: bool = False) -> None:
        attempts = mail["attempts"] + 1
        retry_at = time.time() + min(60 * 2 ** (attempts - 1), 3600)
        mark_failed(self.engine, mail["message_id"], error=f"{type(error).__name__}: {error}", attempts=attempts,
                    retry_at=retry_at, final=final)
        log.warning("mail not sent; it failed" if final else "mail not sent; tried again later",
                    project_id=mail["project_id"], seq=mail["seq"], attempts=attempts, error=str(error)[:200])
