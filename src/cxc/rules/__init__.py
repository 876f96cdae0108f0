"""The validation rules of PRODUCT.md: a registry of small named checks over the store.

- :mod:`~cxc.rules.checks`: the registry (``RULES``: each rule's id, severity, summary and
  check, written once) and :func:`validate`;
- :mod:`~cxc.rules.snapshot`: the query runner over one read snapshot, and the row types;
- the rules by concern: :mod:`~cxc.rules.references` (unknown ids), :mod:`~cxc.rules.identity`
  (repeated ids and activities), :mod:`~cxc.rules.dates` (times, overlaps),
  :mod:`~cxc.rules.capacity` (seats, quotas, slots), :mod:`~cxc.rules.travel` (transfers,
  travel), :mod:`~cxc.rules.eligibility` (kinds, visitors, delegations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxc.errors import Finding
from cxc.rules import kept
from cxc.rules.checks import RULES, SEVERITY, Rule, validate, validate_files
from cxc.store import read_snapshot
from cxc.store.kept import WHOLE_STORE, keep_findings, kept_file_findings, kept_findings

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["RULES", "SEVERITY", "Rule", "validate", "validate_files", "validate_store"]


def validate_store(db: sqlite_utils.Database, keep: bool = False) -> list[Finding]:
    """Every finding of the rules on what the store holds, read in one snapshot.

    When nothing the rules read was written since the store last kept its findings, they are
    those (:mod:`cxc.rules.kept`); else the per-file rules run only for the files with none
    kept (:func:`~cxc.rules.checks.validate_files`). ``keep``: keep these, the whole store's
    and each file's, for the next command; only inside a write transaction (``cxc plan``'s),
    where nothing has written since they were read."""
    conn = db.conn
    with read_snapshot(conn):
        made_by = kept.made_by(conn)
        stored = kept_findings(conn, WHOLE_STORE, made_by)
        if stored is not None:
            return kept.loads(stored)
        per_file = {path: kept.loads(text)
                    for path, text in kept_file_findings(conn, made_by).items()}
        findings, computed = validate_files(conn, per_file)
        if keep:
            keep_findings(conn, WHOLE_STORE, made_by, kept.dumps(findings))
            for path, found in computed.items():
                keep_findings(conn, path, made_by, kept.dumps(found))
        return findings
