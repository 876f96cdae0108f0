"""The steps the commands share: load paths into a store, validate what it holds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import loader, rules, store
from .errors import Finding, UsageError
from .model import World

if TYPE_CHECKING:
    import sqlite_utils


def load_paths(db: sqlite_utils.Database, paths: Sequence[Path]) -> store.LoadSummary:
    """Read every YAML file under ``paths`` and load them in one transaction.

    Raises FormatError (every problem of every file) before touching the store.
    """
    files = loader.yaml_files(paths)
    if not files:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(map(str, paths))}")
    documents = loader.load_documents(files)
    displays = {str(p.resolve()): loader.display_name(p) for p in files}
    return store.load(db, documents, displays)


def validate_store(db: sqlite_utils.Database) -> tuple[World, list[Finding]]:
    world = store.read_world(db)
    return world, rules.validate(world)
