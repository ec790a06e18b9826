"""A checkpoint with its witnesses' cosignatures: the note as kept (the log's signature, then each cosignature
line), and the check a funder runs with nothing but the witnesses' keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evidence.cosignature import WitnessKey, verify_cosignature
from evidence.notes import NoteError


def with_cosignatures(note: str, kept: Iterable[Mapping[str, Any]]) -> str:
    """The log's note followed by the kept cosignature lines that it does not carry yet."""
    lines = [str(c["line"]) for c in kept if str(c["line"]) not in note]
    return note + "".join(lines)


def check_witnesses(note: str, keys: Sequence[str], quorum: int | None = None) -> dict[str, Any]:
    """Whether at least ``quorum`` (default: all) of the witnesses whose verifier keys are given cosigned this
    note, each cosignature holding over it. Every witness that did not is named in ``problems``."""
    needed = len(keys) if quorum is None else quorum
    if not 1 <= needed <= len(keys):
        raise NoteError(f"--quorum must lie between 1 and the number of witness keys given ({len(keys)}), "
                        f"not {needed}.")
    cosigned, problems = [], []
    for vkey in keys:
        try:
            key = WitnessKey.parse(vkey)
        except NoteError as error:
            raise NoteError(f"The witness key '{vkey[:60]}' is not a witness's verifier key: {error.message}") from None
        try:
            cosigned.append({"witness": key.name, "time": verify_cosignature(note, key)})
        except NoteError as error:
            problems.append({"seq": None, "reason": error.message})  # each names the witness
    result: dict[str, Any] = {"cosigned": cosigned, "quorum": needed, "of": len(keys), "problems": [],
                              "not_cosigned": [p["reason"] for p in problems]}
    if len(cosigned) < needed:
        result["problems"] = [*problems, {"seq": None, "reason": (
            f"only {len(cosigned)} of the {len(keys)} witnesses cosigned this checkpoint; {needed} are needed")}]
    result["ok"] = not result["problems"]
    return result
