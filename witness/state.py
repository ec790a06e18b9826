"""What a witness remembers, in one SQLite file: per log (origin), the latest tree it cosigned.

Checking a request against that tree and replacing it happen in one ``BEGIN IMMEDIATE`` transaction
(SQLite's write lock is taken before the row is read), and the replacement is a compare-and-swap on the
size and root that were checked: two requests that race from the same tree cannot both be cosigned, and a
request that read an older tree cannot roll it back. The transaction commits before the cosignature
leaves (``synchronous=FULL``: on disk, not only in the page cache), so a witness killed at any moment comes
back with the old tree or the new one, never a mix, and never forgets a tree it cosigned.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from domain import InvalidRequest
from domain.merkle import verify_consistency
from evidence.notes import Checkpoint

EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 6962: the empty tree's head
MAX_REFUSED = 1000  # inconsistent checkpoints kept as evidence; only the log's key can make them
SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    origin_hash TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the origin, as the monitoring URL names it
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    checkpoint TEXT NOT NULL,          -- the note as cosigned: text, the log's signature, this witness's
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request TEXT NOT NULL              -- the whole request: a signed checkpoint the log cannot take back
);
"""
VERSION = 1  # PRAGMA user_version: the schema above
FAULT_POINTS = ("commit.before", "commit.after")


@dataclass(frozen=True)
class Tree:
    size: int
    root: bytes


@dataclass(frozen=True)
class Cosigned:
    line: str  # the cosignature line to answer with


@dataclass(frozen=True)
class Conflict:
    size: int  # the size the witness knows: the request's old size was not it


@dataclass(frozen=True)
class Inconsistent:
    reason: str


class Faults:
    """``COOPFLOW_WITNESS_FAULTS="commit.before:3"`` kills the witness (SIGKILL) the 3rd time it is about to
    commit a new tree; ``commit.after`` once it has committed, before it answers. For the crash tests only."""

    def __init__(self, spec: str = "") -> None:
        self._when: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            point, _, nth = part.partition(":")
            if point not in FAULT_POINTS or (nth and not nth.isdigit()):
                raise ValueError(f"COOPFLOW_WITNESS_FAULTS: {part!r} is not point[:n] with a point of "
                                 f"{', '.join(FAULT_POINTS)}")
            self._when[point] = int(nth or 1)
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def hit(self, point: str) -> None:
        with self._lock:
            self._seen[point] += 1
            if self._seen[point] == self._when.get(point):
                os.kill(os.getpid(), signal.SIGKILL)


class State:
    """The witness's SQLite file; one connection per thread, every write under SQLite's write lock."""

    def __init__(self, path: Path, faults: Faults | None = None) -> None:
        self.path = path
        self.faults = faults or Faults()
        self._local = threading.local()
        db = self._db()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if not tables <= {"logs", "refused"} or version > VERSION:
            raise InvalidRequest(f"{path} is not a database of this witness (it holds other tables, or was made by "
                                 "a newer coopflow): give --db a file of its own.")
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA + f"PRAGMA user_version = {VERSION};")

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)  # transactions are ours
            db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before the cosignature leaves
            self._local.db = db
        return db

    def tree(self, origin: str) -> Tree | None:
        row = self._db().execute("SELECT size, root FROM logs WHERE origin = ?", (origin,)).fetchone()
        return Tree(row[0], row[1]) if row else None

    def checkpoint(self, origin_hash: str) -> str | None:
        """The latest cosigned checkpoint of the log whose origin hashes to ``origin_hash``."""
        row = self._db().execute("SELECT checkpoint FROM logs WHERE origin_hash = ?", (origin_hash,)).fetchone()
        return row[0] if row else None

    def advance(self, old_size: int, proof: Sequence[bytes], new: Checkpoint,
                cosign: Callable[[], tuple[str, str]]) -> Cosigned | Conflict | Inconsistent:
        """Move the log of ``new.origin`` from its tree of ``old_size`` to ``new``, if the proof shows the
        one to be a prefix of the other. ``cosign`` returns the cosignature line and the note to keep; it
        is called, and its result stored, only when the move is allowed."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            stored = self.tree(new.origin)
            known = stored or Tree(0, EMPTY_ROOT)  # a log never seen is at the empty tree
            if old_size != known.size:
                return Conflict(known.size)
            refusal = _inconsistency(known, new, proof)
            if refusal:
                return Inconsistent(refusal)
            line, note = cosign()
            now = int(time.time())
            if stored is None:
                db.execute("INSERT INTO logs (origin, origin_hash, size, root, checkpoint, updated_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (new.origin, hashlib.sha256(new.origin.encode()).hexdigest(), new.size, new.root, note,
                            now))
            else:
                changed = db.execute("UPDATE logs SET size = ?, root = ?, checkpoint = ?, updated_at = ? "
                                     "WHERE origin = ? AND size = ? AND root = ?",
                                     (new.size, new.root, note, now, new.origin, known.size, known.root)).rowcount
                if changed != 1:
                    raise RuntimeError(f"the witness's tree of {new.origin} changed under its write lock")
            self.faults.hit("commit.before")
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
        self.faults.hit("commit.after")
        return Cosigned(line)

    def keep_refused(self, origin: str, reason: str, request: bytes) -> bool:
        """Keep a validly signed checkpoint that was refused as inconsistent: it may prove that the log
        forked. The first ``MAX_REFUSED`` are kept; returns whether this one was."""
        cursor = self._db().execute(
            "INSERT INTO refused (origin, received_at, reason, request) SELECT ?, ?, ?, ? "
            "WHERE (SELECT count(*) FROM refused) < ?",
            (origin, int(time.time()), reason, request.decode("utf-8"), MAX_REFUSED))
        return cursor.rowcount == 1


def _inconsistency(known: Tree, new: Checkpoint, proof: Sequence[bytes]) -> str:
    """Why ``new`` cannot follow ``known`` (whose size the request named), or "" when it can."""
    if new.size == 0 and new.root != EMPTY_ROOT:
        return "a checkpoint of size 0 must carry the empty tree's root, SHA-256 of nothing"
    if new.size == known.size and new.root != known.root:
        return (f"a checkpoint of size {new.size} with another root than the one this witness cosigned: "
                "the log has forked")
    if known.size == 0 and proof:
        return "a consistency proof from the empty tree must be empty"
    if not verify_consistency(known.size, new.size, known.root, new.root, proof):
        return f"the consistency proof from size {known.size} to size {new.size} does not hold"
    return ""
