"""Whether the files the store loaded are still, on disk, what it holds: the commands that
write from the store (export, send, sheets, report) stop when a loaded file was edited
since, and validate says so, instead of giving a result of data the folder no longer has."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cxc import model as m
from cxc.errors import EXIT_FINDINGS, CxcError, plural
from cxc.format.files import file_location, store_root
from cxc.format.loader import unchanged
from cxc.store.connection import db_path

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class FileOnDisk:
    """A file the store loaded that is not, on disk, what the store holds."""

    key: str
    display: str
    kind: Literal["partnership", "programme"]
    programme: str | None
    """The programme the store holds from it (None for the partnership's file)."""
    gone: bool
    """Not there any more (else: its bytes changed)."""
    among_others: bool = True
    """For a file gone: whether its folder is there with other files the store loaded. A
    store copied or moved on its own lacks every file it loaded: it is read as it is."""

    @property
    def out_of_date(self) -> bool:
        """Whether the store no longer holds what the folder says: the file was edited, or
        is gone from among the others (moved or deleted: a load of the folder drops it)."""
        return not self.gone or self.among_others

    @property
    def folder(self) -> str:
        """The folder to load again, as the user named the file."""
        parent = Path(self.display).parent
        return "./" if str(parent) == "." else f"{parent}/"

    def reason(self) -> str:
        """What happened to the file, and what to run."""
        what = ("is gone since it was loaded (moved or deleted)" if self.gone
                else "changed since it was loaded")
        return f"{self.display} {what}; run `cxc plan {self.folder}` to load it again"


def changed_on_disk(db: sqlite_utils.Database) -> list[FileOnDisk]:
    """Every loaded file whose bytes changed since it was loaded, or that is gone.

    A file whose stat is the one stored is not read (see :class:`~cxc.model.KnownFile`);
    another is hashed, not parsed: whatever it holds now, it is not what was loaded."""
    root = store_root(db_path(db))
    out = []
    there = False
    for key, display, kind, sha256, stat, programme in db.conn.execute(
            "SELECT f.path, f.display, f.kind, f.sha256, f.stat, p.id FROM files f "
            "LEFT JOIN programmes p ON p.file = f.path WHERE f.sha256 IS NOT NULL "
            "ORDER BY f.display").fetchall():
        path = file_location(key, root)
        if not path.is_file():
            out.append(FileOnDisk(key, display, kind, programme, gone=True,
                                  among_others=path.parent.is_dir()))
            continue
        there = True
        try:
            seen = unchanged(path, key, m.KnownFile(sha256, stat))
        except CxcError:  # it was read before: now it cannot be, which is a change too
            seen = None
        if not isinstance(seen, m.Unchanged):
            out.append(FileOnDisk(key, display, kind, programme, gone=False))
    return out if there else [replace(change, among_others=False) for change in out]


def _since_loaded(changes: list[FileOnDisk]) -> str:
    """``x.yaml (and 2 other files) changed since it was loaded``: the first of ``changes``
    named, the others counted."""
    first = changes[0]
    more = f" (and {plural(len(changes) - 1, 'other file')})" if len(changes) > 1 else ""
    return f"{first.display}{more} {'is gone' if first.gone else 'changed'} since it was loaded"


def loaded_files_note(changes: list[FileOnDisk]) -> str:
    """One line on ``changes`` for a command that reads the store as it is (validate)."""
    return (f"note: {_since_loaded(changes)}: this is what the store holds; run "
            f"`cxc plan {changes[0].folder}` to load the files as they are")


class FilesChanged(CxcError):
    """Loaded files are no longer what the store holds: a result made from it now would be
    of data the folder no longer has."""

    exit_code = EXIT_FINDINGS


def require_as_loaded(db: sqlite_utils.Database, force: bool) -> str | None:
    """Refuse (FilesChanged) a store whose files changed since they were loaded, unless
    ``force``: then the warning to show."""
    changes = [c for c in changed_on_disk(db) if c.out_of_date]
    if not changes:
        return None
    if not force:
        raise FilesChanged(f"{_since_loaded(changes)}; run `cxc plan {changes[0].folder}` to "
                           f"load the files as they are, or report the store as it is with "
                           f"--force")
    return (f"warning: {_since_loaded(changes)}; reported the store as it is (--force), the "
            f"counts may be out of date")
