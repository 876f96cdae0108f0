"""Results the store keeps until what they were computed from is written (schema 7): the
rules' findings, and each programme's export-history version. The triggers of
:data:`~cxc.store.schema.VALIDATION_INPUTS` forget a kept validation on any write to a table
the rules read, whoever writes it."""

from __future__ import annotations

import sqlite3

WHOLE_STORE = ""
"""The scope of the findings of every rule on the whole store."""


def kept_findings(conn: sqlite3.Connection, scope: str, made_by: str) -> str | None:
    """The findings (JSON) kept for ``scope`` by the same code, or None: none kept, or
    written since, or kept by other code."""
    row = conn.execute("SELECT findings FROM validations WHERE scope = ? AND made_by = ?",
                       (scope, made_by)).fetchone()
    return None if row is None else str(row[0])


def kept_file_findings(conn: sqlite3.Connection, made_by: str) -> dict[str, str]:
    """File -> the findings (JSON) kept for it by the same code, of the files that have some."""
    return {str(scope): str(findings) for scope, findings in conn.execute(
        "SELECT scope, findings FROM validations WHERE scope != ? AND made_by = ?",
        (WHOLE_STORE, made_by))}


def keep_findings(conn: sqlite3.Connection, scope: str, made_by: str, findings: str) -> None:
    """Keep ``findings`` (JSON) for ``scope``; call it in the write transaction whose
    snapshot they were computed on, before anything else in it writes what they read."""
    conn.execute("INSERT INTO validations (scope, made_by, findings) VALUES (?, ?, ?) "
                 "ON CONFLICT (scope) DO UPDATE SET made_by = excluded.made_by, "
                 "findings = excluded.findings", (scope, made_by, findings))


def history_version(conn: sqlite3.Connection, programme: str) -> int:
    """How many times the export history of ``programme`` was written (0: never)."""
    row = conn.execute("SELECT version FROM history_versions WHERE programme = ?",
                       (programme,)).fetchone()
    return 0 if row is None else int(row[0])
