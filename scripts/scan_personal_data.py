"""Scan, as raw bytes, every place a coopflow deployment keeps data, for given values: are they there in
clear, and how many sealed values are there?

    .venv/bin/python scripts/scan_personal_data.py --data-dir .coopflow "Ljiljana" "1991-04-02"
    .venv/bin/python scripts/scan_personal_data.py --data-dir .coopflow --temporal 127.0.0.1:7233 \\
        --database-url postgresql://… --also trail.jsonl --also bundle.zip "Ljiljana"

Places: every file under the data dir (the SQLite store with its -wal, Temporal's temporal.db, the
documents, anything else), each file given with --also (a zip is read member by member: its
deflated bytes would hide a value), a pg_dump of a PostgreSQL store, and the histories of every
workflow on a Temporal server fetched *without* the payload codec. A value is looked for as UTF-8
and, for Temporal's histories, in their JSON form too. Exit 1 when a value is found in clear.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

SEALED = b"sealed:v1:"


def _members(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """A file's bytes; a zip's members (recursively), since deflate hides what they hold."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for member in z.namelist():
                    yield from _members(f"{name}:{member}", z.read(member))
            return
        except zipfile.BadZipFile:
            pass
    yield name, data


def files(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        found = [p for p in sorted(path.rglob("*")) if p.is_file()] if path.is_dir() else [path]
        for file in found:
            yield from _members(str(file), file.read_bytes())


def postgresql_dump(url: str) -> Iterator[tuple[str, bytes]]:
    """The store as ``pg_dump`` writes it (plain SQL: every row as it is stored)."""
    pg_dump = shutil.which("pg_dump") or "/usr/bin/pg_dump"
    done = subprocess.run([pg_dump, "--no-owner", url.replace("postgresql+psycopg://", "postgresql://")],  # noqa: S603 (the operator's URL)
                          capture_output=True, timeout=300, check=True)
    yield f"pg_dump {url.rsplit('/', 1)[-1]}", done.stdout


async def _histories(address: str, namespace: str) -> list[tuple[str, bytes]]:
    from temporalio.client import Client

    client = await Client.connect(address, namespace=namespace)  # the default converter: no codec
    found = []
    async for run in client.list_workflows():
        history = await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
        raw = b"".join(e.SerializeToString() for e in history.events)
        found.append((f"history {run.id}/{run.run_id}", raw + history.to_json().encode()))
    return found


def temporal_histories(address: str, namespace: str = "default") -> list[tuple[str, bytes]]:
    return asyncio.run(_histories(address, namespace))


def scan(places: Iterable[tuple[str, bytes]], values: Iterable[str]) -> dict[str, dict[str, object]]:
    """For each place: which of ``values`` it holds in clear, and how many sealed values."""
    needles = [(v, v.encode()) for v in values]
    report: dict[str, dict[str, object]] = {}
    for name, data in places:
        report[name] = {"plain": [v for v, raw in needles if raw in data], "sealed": data.count(SEALED),
                        "bytes": len(data)}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("values", nargs="+", help="the values to look for (names, dates, texts)")
    parser.add_argument("--data-dir", type=Path, action="append", default=[], help="a folder to read whole")
    parser.add_argument("--also", type=Path, action="append", default=[], help="a file (an export, a bundle, a log)")
    parser.add_argument("--database-url", help="a PostgreSQL store to dump")
    parser.add_argument("--temporal", help="host:port of a Temporal server whose histories to read")
    parser.add_argument("--namespace", default="default")
    args = parser.parse_args()
    places = list(files([*args.data_dir, *args.also]))
    if args.database_url:
        places += list(postgresql_dump(args.database_url))
    if args.temporal:
        places += temporal_histories(args.temporal, args.namespace)
    report = scan(places, args.values)
    width = max((len(n) for n in report), default=10)
    for name, found in report.items():
        plain = ", ".join(map(str, found["plain"])) or "—"  # type: ignore[call-overload]
        print(f"{name:<{width}}  {found['bytes']:>10,} bytes  sealed values: {found['sealed']:>5}  in clear: {plain}")
    leaks = sum(bool(found["plain"]) for found in report.values())
    print(f"{len(report)} places; {leaks} hold a value in clear.")
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
