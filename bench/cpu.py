"""CPU time of a server process and its children (uvicorn's workers), and of the PostgreSQL backends serving one
database, read from /proc (utime + stime, every thread included)."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        # The command name is in parentheses and may hold spaces: fields are counted after its closing one.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of one live process so far (0 if it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICK if fields else 0.0


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of `pid` and of each live descendant, by pid (sum the differences of two readings: a worker
    that exits in between is charged up to the first reading only)."""
    return {child: process_cpu(child) for child in descendants(pid)}


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend whose process title names `database` (other databases on the same
    server, a test suite's, and the server's background processes are not counted)."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = entry.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {database} " in title:
            found[int(entry.parent.name)] = process_cpu(int(entry.parent.name))
    return found


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings by the processes of the second (new ones: all of theirs)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
