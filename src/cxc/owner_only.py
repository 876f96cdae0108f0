"""Files and folders only their owner can read: what export and sheets write for people."""

from __future__ import annotations

import os
from pathlib import Path


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and every missing folder above it owner-only (not just the last one)."""
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)


def write_owner_only(fd: int, data: bytes) -> None:
    """All of ``data`` into the new file ``fd``, readable by its owner only."""
    os.fchmod(fd, 0o600)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
