"""The witness's answers (c2sp.org/tlog-witness), apart from HTTP: a request body in, a status and body out.

The checks run in the order the spec states them: the body's form (400), the origin (404), the log's
signature (403), the old size against the checkpoint's (400), then, under the state's write lock, the old
size against the known one (409, with the known size) and the consistency proof (422). Only then is the
checkpoint cosigned, the new tree stored, and the cosignature answered (200).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from evidence.cosignature import Cosigner
from evidence.notes import NoteError, Verifier, check_signed
from witness.request import AddCheckpoint, Malformed, parse_add_checkpoint
from witness.state import Conflict, Inconsistent, State

SIZE_TYPE = "text/x.tlog.size"
TEXT_TYPE = "text/plain; charset=utf-8"
log = structlog.get_logger("coopflow.witness")


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = TEXT_TYPE


class Witness:
    """Cosigns the checkpoints of every log signed by ``log_key`` whose origin starts with ``origin_prefix``."""

    def __init__(self, cosigner: Cosigner, log_key: Verifier, origin_prefix: str, state: State,
                 clock: Callable[[], float] = time.time) -> None:
        self.cosigner = cosigner
        self.log_key = log_key
        self.origin_prefix = origin_prefix
        self.state = state
        self.clock = clock

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            request = parse_add_checkpoint(body)
        except Malformed as error:
            log.info("refused a malformed request", status=400, reason=str(error))
            return Answer(400, f"{error}\n")
        origin = request.checkpoint.origin
        if not origin.startswith(self.origin_prefix):
            log.info("refused a log it does not follow", status=404, origin=origin)
            return Answer(404, f"This witness does not follow the log {origin}.\n")
        try:
            signed_by_log = check_signed(request.text, request.signatures, self.log_key)
        except NoteError as error:
            log.warning("refused a checkpoint the log did not sign", status=403, origin=origin, reason=error.message)
            return Answer(403, f"{error.message}\n")
        if request.old_size > request.checkpoint.size:
            log.info("refused an old size above the checkpoint's", status=400, origin=origin)
            return Answer(400, f"The old size {request.old_size} is larger than the checkpoint's size "
                               f"{request.checkpoint.size}.\n")
        return self._advance(request, "".join(s.line() for s in signed_by_log), body)

    def _advance(self, request: AddCheckpoint, log_lines: str, body: bytes) -> Answer:
        def cosign() -> tuple[str, str]:
            line = self.cosigner.cosign(request.text, int(self.clock())).line()
            return line, f"{request.text}\n{log_lines}{line}"

        checkpoint = request.checkpoint
        outcome = self.state.advance(request.old_size, request.proof, checkpoint, cosign)
        if isinstance(outcome, Conflict):
            log.info("refused a stale old size", status=409, origin=checkpoint.origin, old=request.old_size,
                     known=outcome.size)
            return Answer(409, f"{outcome.size}\n", SIZE_TYPE)
        if isinstance(outcome, Inconsistent):
            kept = self.state.keep_refused(checkpoint.origin, outcome.reason, body)
            log.warning("refused an inconsistent checkpoint signed by the log: it may prove that the log forked",
                        status=422, origin=checkpoint.origin, size=checkpoint.size, reason=outcome.reason, kept=kept)
            return Answer(422, f"Refused: {outcome.reason}.\n")
        log.info("cosigned", status=200, origin=checkpoint.origin, size=checkpoint.size)
        return Answer(200, outcome.line)

    def latest(self, origin_hash: str) -> Answer:
        """``GET <origin hash>/checkpoint``: the latest checkpoint cosigned for that log, with the log's
        signature and this witness's cosignature (the spec's monitoring interface)."""
        note = self.state.checkpoint(origin_hash)
        if note is None:
            return Answer(404, "This witness has cosigned no checkpoint of that log.\n")
        return Answer(200, note)
