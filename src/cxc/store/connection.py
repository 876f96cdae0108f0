"""Opening the store (refusing what is not one), transactions and read snapshots."""

from __future__ import annotations

import atexit
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cxc.errors import StoreError

if TYPE_CHECKING:
    import sqlite_utils

from cxc.store.schema import SCHEMA_VERSION, _migrate, _schema_version

BUSY_TIMEOUT_S = 60.0
"""How long a command waits, by default, for another cxc writing the same store.

A load holds the store while it reads its files (it writes each as it is read),
some ten seconds for a thousand programmes: a minute covers that with room."""


def open_store(path: Path | str, *, create: bool = True,
               busy_timeout_s: float = BUSY_TIMEOUT_S) -> sqlite_utils.Database:
    """Open (creating it owner-only if need be) and migrate the store at ``path``.

    A command waits up to ``busy_timeout_s`` for another cxc writing the store.
    """
    import sqlite_utils

    path = Path(path)
    if not path.exists():
        if not create:
            raise StoreError(f"{path}: no store here; run `cxc load PATH` first")
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the store: {exc.strerror}") from None
    elif path.is_dir():
        raise StoreError(f"{path}: is a folder; --db names the store's file")
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(_store_message(path, exc, busy_timeout_s)) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")  # `cxc forget` leaves no bytes behind
        version = _schema_version(conn, path)  # before any write: a stranger's file stays as it is
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None:
            raise StoreError(f"{path}: cannot set the journal mode")
        if version != SCHEMA_VERSION:
            _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(_store_message(path, exc, busy_timeout_s)) from None
    except StoreError:
        conn.close()
        raise
    # Closed explicitly at exit: SQLite then checkpoints and removes the -wal and -shm files.
    atexit.register(conn.close)
    return sqlite_utils.Database(conn)


def _store_message(path: Path, exc: sqlite3.Error, waited_s: float) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (f"{path}: the store is busy (another cxc is writing it); "
                f"waited {waited_s:g} s, try again when it has finished")
    if "not a database" in text or "malformed" in text:
        return f"{path}: not a cxc store (or a damaged one): {text}"
    return f"{path}: {text}"





@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One immediate transaction: all of it lands, or none of it.

    Inside another write transaction it is part of that one (which commits or rolls back).
    """
    conn = db.conn
    if conn.in_transaction:
        yield conn
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreError(_store_message(Path(db_path(db)), exc, _busy_timeout_s(conn))) from None
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.execute("ROLLBACK")
        raise StoreError(_store_message(Path(db_path(db)), exc, _busy_timeout_s(conn))) from None


def _busy_timeout_s(conn: sqlite3.Connection) -> float:
    return float(conn.execute("PRAGMA busy_timeout").fetchone()[0]) / 1000


def db_path(db: sqlite_utils.Database) -> str:
    row = db.conn.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row else "?"


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every query sees the same store, even while another cxc commits."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")
