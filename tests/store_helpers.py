"""What the fault tests share: synthetic data sets, and stores compared, checked and copied.

Not a test module: test_crash_safety, test_concurrency and test_fuzz import it
(pytest puts this folder on ``sys.path``, as it does for ``conftest``).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import CXC

GENERATE = Path(__file__).resolve().parents[1] / "bench" / "generate.py"

Dump = dict[str, list[tuple[Any, ...]]]


def generate(folder: Path, programmes: int, registrations: int, seed: int) -> Path:
    """A seeded synthetic data set from bench/generate.py: a partnership and programme files."""
    done = subprocess.run(
        [sys.executable, str(GENERATE), "--out", str(folder), "--programmes", str(programmes),
         "--registrations", str(registrations), "--seed", str(seed)],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return folder


def revise(source: Path, target: Path) -> Path:
    """The data set with every programme changed (titles, one participant fewer), into ``target``.

    ``target`` may be ``source``: then the same files, edited, replace what they defined.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    for path in sorted(source.rglob("*.yaml")):
        copy = target / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        if "programme" in data:
            data["programme"]["title"] += " (revised)"
            for session in data.get("sessions") or []:
                session["title"] += " (revised)"
            if data.get("participants"):
                data["participants"].pop()
        copy.write_text(yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
    return target


def environment(epoch: int | None = None) -> dict[str, str]:
    """The environment of a `cxc` subprocess: no store or colour leaking in, a fixed export time."""
    env = {k: v for k, v in os.environ.items() if k not in ("CXC_DB", "FORCE_COLOR")}
    env.update(NO_COLOR="1", COLUMNS="120", SOURCE_DATE_EPOCH=str(epoch or 1_735_689_600))
    return env


def cxc(db: Path, *args: str | Path, epoch: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run `cxc --db DB ARGS` to the end; it must succeed (exit 0, or 1 for findings)."""
    done = subprocess.run([str(CXC), "--db", str(db), *map(str, args)], capture_output=True,
                          text=True, env=environment(epoch), timeout=600, check=False)
    assert done.returncode in (0, 1), (args, done.stderr[-3000:])
    assert "Traceback" not in done.stderr
    return done


def canonical(db: Path) -> Dump:
    """Every table's rows, sorted, and the schema version: equal dumps, equal stores.

    What the store keeps to skip work is left out (each file's stat, the kept findings): it
    says when and where a file was read, not what the store holds."""
    conn = sqlite3.connect(db)
    try:
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'validations' "
            "ORDER BY name")]
        dump: Dump = {t: sorted(conn.execute(
            "SELECT path, display, kind, sha256 FROM files" if t == "files"
            else f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
        dump["user_version"] = [conn.execute("PRAGMA user_version").fetchone()]
        return dump
    finally:
        conn.close()


def integrity(db: Path) -> list[str]:
    """``["ok"]`` for a sound store: SQLite's integrity check, and no dangling reference."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        rows += conn.execute("PRAGMA foreign_key_check").fetchall()
        return [str(r[0]) if len(r) == 1 else repr(r) for r in rows]
    finally:
        conn.close()


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a store, whatever its write-ahead log holds."""
    for suffix in ("", "-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
