"""The mail sender: a small loop in each worker that delivers the outbox over SMTP.

Each round it claims the mails that are due (a lease, so that several workers never send the
same one at once), sends them on one SMTP connection, and marks each sent, or failed for now:
a failed mail is tried again after 1, 2, 4 … minutes (at most an hour apart), and after eight
attempts it stays ``failed`` for a person to see (`coopflow mail list --status failed`).
Without an SMTP host the loop does not run: mail waits in the outbox.
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
from store.outbox import claim_due, mark_failed, mark_sent

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

    def send_due(self) -> int:
        """One round: returns how many mails were sent."""
        mails = claim_due(self.engine, now=time.time(), lease=self.lease)
        if not mails:
            return 0
        sent = 0
        try:
            connection = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            for mail in mails:
                self._failed(mail, error)
            return 0
        with connection:
            for mail in mails:
                try:
                    connection.send_message(self._message(mail))
                except (OSError, smtplib.SMTPException) as error:
                    self._failed(mail, error)
                    continue
                mark_sent(self.engine, mail["message_id"], at=format_time(datetime.now(UTC)))
                log.info("mail sent", project_id=mail["project_id"], seq=mail["seq"], kind=mail["kind"])
                sent += 1
        return sent

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

    def _failed(self, mail: dict[str, Any], error: Exception) -> None:
        attempts = mail["attempts"] + 1
        retry_at = time.time() + min(60 * 2 ** (attempts - 1), 3600)
        mark_failed(self.engine, mail["message_id"], error=f"{type(error).__name__}: {error}", attempts=attempts,
                    retry_at=retry_at)
        log.warning("mail not sent; tried again later", project_id=mail["project_id"], seq=mail["seq"],
                    attempts=attempts, error=str(error)[:200])
