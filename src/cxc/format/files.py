"""The YAML files named on the command line, and how the store names them: relative to the
store's own folder where they lie under it (a project copied with its store keeps working)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cxc.errors import UsageError
from cxc.format import loader
from cxc.model import FileRead, KnownFile
from cxc.progress import Progress, no_progress


def store_root(db_file: Path | str) -> Path:
    """The folder of the store: file paths under it are kept relative to it (portable)."""
    return Path(db_file).resolve().parent


def file_key(path: Path, root: Path) -> str:
    """How the store names a YAML file: relative to ``root`` when under it, else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return str(resolved)


def file_location(key: str, root: Path) -> Path:
    """Where the file the store calls ``key`` lies (``root``: the store's folder, now)."""
    path = Path(key)
    return path if path.is_absolute() else root / path


@dataclass(frozen=True)
class InputFiles:
    """The YAML files named on the command line, found but not read yet."""

    paths: list[Path]
    keys: dict[Path, str]
    """Each path -> how the store names it (relative to the store's folder when under it)."""
    displays: dict[str, str]
    """Store key -> the path as the user should read it."""
    mirrored: list[Path]
    """The folders named: the store holds exactly the files under them after the load."""

    def documents(self, progress: Progress = no_progress,
                  known: Mapping[str, KnownFile] | None = None) -> Iterator[FileRead]:
        """Each file's document in turn; FormatError, at the end, carries every problem of every file.

        ``known``: store key -> what the store holds of it; those files unchanged are not
        parsed (see :func:`loader.read_documents`)."""
        return loader.read_documents(self.paths, progress, self.keys, known)


def find_files(paths: Sequence[Path], store_file: Path = Path("cxc.db")) -> InputFiles:
    """The YAML files under ``paths``; UsageError for a path that is not there, or no file at all.

    ``store_file`` is the store they go into: file keys are relative to its folder."""
    files = loader.yaml_files(paths)
    if not files:
        raise UsageError(f"no *.yaml or *.yml files in {', '.join(map(str, paths))}")
    root = store_root(store_file)
    keys = {p: file_key(p, root) for p in files}
    return InputFiles(files, keys, {keys[p]: loader.display_name(p) for p in files},
                      [p for p in paths if p.is_dir()])
