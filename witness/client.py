"""How coopflow asks a witness to cosign a checkpoint (c2sp.org/tlog-witness ``add-checkpoint``).

``submit`` makes one request and says what came of it:

- ``Cosigned``: the witness's cosignature line(s), each checked against its key (lines by other keys are
  dropped, as the spec asks); append them to the note to keep them with it;
- ``Conflict``: the witness's tree is of another size than the one the request came from; prove from that
  size and ask again (``request_cosignature`` does it once);
- ``Refused``: any other answer, with the status and the witness's words. 403, 404 and 422 will not mend
  by themselves (a wrong key, a log the witness does not follow, a checkpoint it found inconsistent: look
  at it); ``retryable`` ones (429, 5xx) may.

Network failures raise ``httpx.HTTPError``: trying again later is the caller's (Temporal's) part. The
client is synchronous, as coopflow's activities are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from evidence.cosignature import WitnessKey, check_cosigned
from evidence.notes import Checkpoint, NoteError, split_note
from witness.request import format_add_checkpoint

MAX_ANSWER = 64 * 1024  # a witness answers a few lines; more is not read
SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Cosigned:
    lines: str  # the witness's cosignature line(s), each ending in a newline
    time: int  # when it cosigned, seconds since the epoch


@dataclass(frozen=True)
class Conflict:
    size: int  # the size of the latest tree the witness cosigned for this log


@dataclass(frozen=True)
class Refused:
    status: int
    text: str

    @property
    def retryable(self) -> bool:
        return self.status == 429 or self.status >= 500


Outcome = Cosigned | Conflict | Refused


def submit(url: str, key: WitnessKey | str, old_size: int, proof: Sequence[bytes], note: str, *,
           client: httpx.Client | None = None, timeout: float = 10.0) -> Outcome:
    """Ask the witness at ``url`` (its submission prefix) to cosign ``note``, a signed checkpoint that grows
    the tree of ``old_size`` as ``proof`` shows; its answer is checked against the witness's ``key``."""
    key = key if isinstance(key, WitnessKey) else WitnessKey.parse(key)
    endpoint = url.rstrip("/") + "/add-checkpoint"
    owned = client is None
    http = client or httpx.Client(timeout=timeout)
    try:
        with http.stream("POST", endpoint, content=format_add_checkpoint(old_size, proof, note),
                         headers={"content-type": "text/plain; charset=utf-8"}) as response:
            body = _read_capped(response)
            status, content_type = response.status_code, response.headers.get("content-type", "")
    finally:
        if owned:
            http.close()
    text = body.decode("utf-8", errors="replace")
    if status == 409 and content_type == SIZE_TYPE and re.fullmatch(r"(0|[1-9][0-9]{0,18})\n", text):
        return Conflict(int(text))
    if status != 200:
        return Refused(status, text.strip()[:500])
    return _check_answer(note, text, key)


def request_cosignature(url: str, key: WitnessKey | str, note: str, old_size: int,
                        prove: Callable[[int], Sequence[bytes]], *, client: httpx.Client | None = None,
                        timeout: float = 10.0) -> Outcome:
    """``submit`` from ``old_size`` (what coopflow last heard from this witness, 0 when nothing); when the
    witness knows another size, ``prove(size)`` gives the proof from it and the request is made once more.
    A witness that knows a larger tree than this checkpoint's is not asked again: that is refused here,
    since only a log that went back could cause it."""
    outcome = submit(url, key, old_size, prove(old_size), note, client=client, timeout=timeout)
    if not isinstance(outcome, Conflict):
        return outcome
    size = _size_of(note)
    if outcome.size > size:
        return Refused(409, f"The witness has cosigned a tree of {outcome.size} leaves, larger than this "
                            f"checkpoint's {size}: the log has gone back.")
    return submit(url, key, outcome.size, prove(outcome.size), note, client=client, timeout=timeout)


def _read_capped(response: httpx.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_ANSWER:
            break
    return bytes(body[:MAX_ANSWER])


def _check_answer(note: str, answer: str, key: WitnessKey) -> Outcome:
    """The cosignature lines by ``key`` in a 200 answer, once they hold over the note's text."""
    text, _ = split_note(note)
    try:
        _, lines = split_note(f"{text}\n{answer}")  # the answer must be signature lines and nothing else
        mine = [line for line in lines if line.name == key.name and line.key_id == key.id]
        time = check_cosigned(text, mine, key)
    except NoteError as error:
        return Refused(200, f"The witness's answer is not a cosignature that holds: {error.message}")
    return Cosigned("".join(line.line() for line in mine), time)


def _size_of(note: str) -> int:
    return Checkpoint.parse(split_note(note)[0]).size
