"""Opening the store (refusing what is not one), transactions and read snapshots."""

from __future__ import annotations

import atexit
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
               busy_timeout_s: float = BUSY_TIMEOUT_S, write: bool = True,
               name: Path | None = None) -> sqlite_utils.Database:
    """Open (creating it owner-only if need be) and migrate the store at ``path``.

    A command waits up to ``busy_timeout_s`` for another cxc writing the store. A store
    that cannot be written (read-only media, no permission) is refused, unless ``write``
    is false: then it is opened read-only, for commands that only read it. Messages name
    the store ``name`` (default: ``path``).
    """
    import sqlite_utils

    file = Path(path)
    path = name or file
    if not file.exists():
        if not create:
            raise StoreError(f"{path}: no store here; run `cxc load PATH` first")
        try:
            fd = os.open(file, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the store: {exc.strerror}") from None
    elif file.is_dir():
        raise StoreError(f"{path}: is a folder; --db names the store's file")
    read_only = _read_only(file)
    if read_only is not None and write:
        raise StoreError(f"{path}: the store is read-only ({read_only}) and this command "
                         f"writes to it; {READ_ONLY_FIX}")
    try:
        conn = (sqlite3.connect(file, timeout=busy_timeout_s, isolation_level=None,
                                factory=StoreConnection)
                if read_only is None else _connect_read_only(file, busy_timeout_s))
        assert isinstance(conn, StoreConnection)
        conn.shown = path
    except sqlite3.Error as exc:
        raise StoreError(_store_message(path, exc, busy_timeout_s)) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")  # `cxc forget` leaves no bytes behind
        version = _schema_version(conn, file)  # before any write: a stranger's file stays as it is
        if read_only is not None:
            if version != SCHEMA_VERSION:
                raise StoreError(f"{path}: the store is read-only ({read_only}) and was written "
                                 f"by an older cxc: it must be upgraded, which writes to it; "
                                 f"{READ_ONLY_FIX}")
        elif conn.execute("PRAGMA journal_mode = WAL").fetchone() is None:
            raise StoreError(f"{path}: cannot set the journal mode")
        elif version != SCHEMA_VERSION:
            _migrate(conn, file)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(_store_message(path, exc, busy_timeout_s)) from None
    except StoreError:
        conn.close()
        raise
    # Closed explicitly at exit: SQLite then checkpoints and removes the -wal and -shm files.
    atexit.register(conn.close)
    return sqlite_utils.Database(conn)


class StoreConnection(sqlite3.Connection):
    """A connection to a store, which knows the store by the name its user gave it."""

    shown: Path | None = None


READ_ONLY_FIX = "copy it to a folder you can write to and name the copy with --db"


def _read_only(path: Path) -> str | None:
    """Why the store at ``path`` cannot be written, or None when it can.

    SQLite writes beside the store too (its -wal and -shm files), so its folder counts."""
    folder = path.absolute().parent
    if os.access(path, os.W_OK) and os.access(folder, os.W_OK):
        return None
    try:
        on_read_only_media = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        on_read_only_media = False
    if on_read_only_media:
        return "it is on a read-only file system"
    return "no permission to write it or its folder"


def _connect_read_only(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A read-only connection to a store that cannot be written.

    A WAL store's readers share its -shm file with its writer. With none (no cxc is writing
    the store, and all of it is in the main file), the store is opened immutable: SQLite
    then needs, and leaves behind, no -shm or -wal file (https://www.sqlite.org/wal.html)."""
    uri = f"{path.absolute().as_uri()}?mode=ro"
    wal = Path(f"{path}-wal")
    if not Path(f"{path}-shm").exists():
        if wal.exists() and wal.stat().st_size:
            raise StoreError(f"{path}: the store is read-only and its last writer left changes "
                             f"in {wal.name}; open it once where it can be written, then copy "
                             f"it back")
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=busy_timeout_s, isolation_level=None,
                           factory=StoreConnection)


SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL = 8, 10, 13
"""SQLite's primary result codes (an error's ``sqlite_errorcode`` & 0xff)."""


def _store_message(path: Path, exc: sqlite3.Error, waited_s: float) -> str:
    exc = _first_error(exc)
    text = str(exc)
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == SQLITE_FULL:
        return (f"{path}: the disk is full (or the store would grow past the largest file this "
                f"system allows); nothing was changed: free some space and run the command again")
    if code == SQLITE_IOERR:
        return (f"{path}: the store could not be written ({text}: the disk may be full, failing "
                f"or gone, or the file larger than this system allows); nothing was changed")
    if code == SQLITE_READONLY:
        return f"{path}: the store is read-only and this command writes to it; {READ_ONLY_FIX}"
    if "locked" in text or "busy" in text:
        return (f"{path}: the store is busy (another cxc is writing it); "
                f"waited {waited_s:g} s, try again when it has finished")
    if "not a database" in text or "malformed" in text:
        return f"{path}: not a cxc store (or a damaged one): {text}"
    return f"{path}: {text}"


def _first_error(exc: sqlite3.Error) -> sqlite3.Error:
    """The error that started it: a failed ROLLBACK ("no transaction is active", after SQLite
    rolled back by itself on a full disk) raised while handling the real one hides it."""
    while isinstance(exc.__context__, sqlite3.Error):
        exc = exc.__context__
    return exc


def store_error(db: sqlite_utils.Database, exc: sqlite3.Error) -> StoreError:
    """What a failed statement on the store ``db`` tells the user, as a StoreError."""
    return StoreError(_store_message(Path(store_name(db)), exc, _busy_timeout_s(db.conn)))


def store_name(db: sqlite_utils.Database) -> str:
    """The store's file as its user named it (``--db``), for messages."""
    shown = getattr(db.conn, "shown", None)
    return str(shown) if shown is not None else db_path(db)


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
        raise store_error(db, exc) from None
    try:
        yield conn
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:  # a full disk, a read-only store, a busy one
        _roll_back(conn)
        raise store_error(db, exc) from None
    except BaseException:
        _roll_back(conn)
        raise


def _roll_back(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it does on a full disk)."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):  # what was not committed is undone when the store reopens
            conn.execute("ROLLBACK")


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
