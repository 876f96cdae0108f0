"""The validation rules of PRODUCT.md: a registry of small named checks over the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxc.errors import Finding
from cxc.rules.checks import RULES, SEVERITY, Rule, validate
from cxc.store import read_snapshot

if TYPE_CHECKING:
    import sqlite_utils

__all__ = ["RULES", "SEVERITY", "Rule", "validate", "validate_store"]


def validate_store(db: sqlite_utils.Database) -> list[Finding]:
    """Every finding of the rules on what the store holds, read in one snapshot."""
    with read_snapshot(db.conn):
        return validate(db.conn)
