"""Export rebuilds only what changed (issue 17, item 3): a programme whose data, plan, host
and export history are as at the last export to that folder, and whose files are still
there, is not read, encoded or written again."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner

from cxc.calendars import export


def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The id of every programme `_Exporter.programme` builds from now on."""
    calls: list[str] = []
    real = export._Exporter.programme

    def counted(self: Any, doc: Any) -> None:
        calls.append(doc.programme.id)
        real(self, doc)

    monkeypatch.setattr(export._Exporter, "programme", counted)
    return calls


def files(out: Path) -> dict[str, tuple[int, bytes]]:
    """Every file export wrote into ``out`` (not cxc's own folder): mtime and bytes."""
    return {str(p.relative_to(out)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(out.rglob("*")) if p.is_file() and ".cxc" not in p.parts}


def file_of(folder: Path, pid: str) -> Path:
    (path,) = folder.glob(f"programmes/*/{pid}.yaml")
    return path


def ok(result: Any) -> Any:
    assert result.code == 0, result.output
    return result


def exported(run: Runner, folder: Path, monkeypatch: pytest.MonkeyPatch,
             ) -> tuple[list[str], dict[str, tuple[int, bytes]]]:
    """Plan ``folder`` and export it into ``out`` once: the calls to come (after the ids this
    first export built), and the files it wrote."""
    ok(run("plan", folder, "--format", "json"))
    calls = built(monkeypatch)
    ok(run("export", "--out", "out"))
    first = sorted(calls)
    assert len(first) >= 4
    calls.clear()
    calls.extend(first)
    return calls, files(Path("out"))


def changed(before: dict[str, tuple[int, bytes]], after: dict[str, tuple[int, bytes]],
            ) -> set[str]:
    """The programmes (first part of the path) of files added, removed or rewritten."""
    return {path.split("/")[0] for path in before.keys() | after.keys()
            if before.get(path) != after.get(path)}


def test_an_unchanged_store_is_not_rebuilt_and_no_file_is_touched(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, before = exported(run, folder, monkeypatch)
    ids = list(calls)
    calls.clear()

    again = ok(run("export", "--out", "out"))

    assert calls == []
    assert files(Path("out")) == before
    assert f"({len(ids)} unchanged)" in again.stderr, again.stderr


def test_one_changed_programme_is_the_only_one_rebuilt_and_rewritten(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, before = exported(run, folder, monkeypatch)
    ids = list(calls)
    calls.clear()
    pid = ids[2]
    path = file_of(folder, pid)
    text = path.read_text(encoding="utf-8")
    moved = re.sub(r"(\n  start: \d{4}-\d\d-\d\d) 09:00", r"\1 09:15", text, count=1)
    assert moved != text
    path.write_text(moved, encoding="utf-8")
    ok(run("plan", folder, "--format", "json"))

    again = ok(run("export", "--out", "out"))

    assert calls == [pid]
    after = files(Path("out"))
    assert changed(before, after) == {pid}
    assert f"({len(ids) - 1} unchanged)" in again.stderr, again.stderr
    calls.clear()
    ok(run("export", "--out", "out"))  # and now it is as exported
    assert calls == []
    assert files(Path("out")) == after


def test_a_deleted_or_altered_file_rebuilds_its_programme(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, before = exported(run, folder, monkeypatch)
    first, second = calls[:2]
    calls.clear()
    page = sorted(Path("out", first, "participants").glob("*.html"))[0]
    page.unlink()
    calendar = Path("out", second, "programme.ics")
    calendar.write_bytes(calendar.read_bytes() + b"\r\n")

    ok(run("export", "--out", "out"))

    assert calls == [first, second]
    after = files(Path("out"))
    assert after.keys() == before.keys()
    assert {p: b for p, (_, b) in after.items()} == {p: b for p, (_, b) in before.items()}
    assert changed(before, after) == {first, second}


def test_a_new_folder_gets_everything(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, before = exported(run, folder, monkeypatch)
    ids = list(calls)
    calls.clear()

    ok(run("export", "--out", "elsewhere"))

    assert sorted(calls) == ids
    assert {p: b for p, (_, b) in files(Path("elsewhere")).items()} == {
        p: b for p, (_, b) in before.items()}
    calls.clear()
    ok(run("export", "--out", "out"))  # the same history: the first folder is still current
    assert calls == []


def test_a_host_contact_change_rebuilds_that_hosts_programmes(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, before = exported(run, folder, monkeypatch)
    with sqlite3.connect(db) as conn:
        hosts = {pid: host for pid, host in conn.execute("SELECT id, host FROM programmes")
                 if pid in calls}
    calls.clear()
    host = hosts[sorted(hosts)[0]]
    partnership = folder / "partnership.yaml"
    text = partnership.read_text(encoding="utf-8")
    edited = text.replace(f"desk@{host}.example", f"office@{host}.example")
    assert edited.count(f"office@{host}.example") == 1
    partnership.write_text(edited, encoding="utf-8")
    ok(run("plan", folder, "--format", "json"))

    ok(run("export", "--out", "out"))

    hosted = sorted(pid for pid, h in hosts.items() if h == host)
    assert sorted(calls) == hosted
    assert changed(before, files(Path("out"))) == set(hosted)
    assert len(hosted) < len(hosts)


def test_the_fingerprint_is_kept_in_meta_per_folder_and_programme(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, _ = exported(run, folder, monkeypatch)
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute(
            "SELECT key FROM meta WHERE key LIKE 'export:%' ORDER BY key")]
    assert keys == [f"export:out:{pid}" for pid in calls]


def readiness_checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """One entry for every full readiness check (`check_ready`) export makes from now on."""
    calls: list[object] = []
    real = export.check_ready

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(args[1:])
        real(*args, **kwargs)

    monkeypatch.setattr(export, "check_ready", counted)
    return calls


def test_an_export_checks_readiness_once_when_nobody_else_writes(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(run("plan", folder, "--format", "json"))
    checks = readiness_checks(monkeypatch)

    ok(run("export", "--out", "out"))
    assert len(checks) == 1
    ok(run("export", "--out", "out", "--feeds"))  # its own token commit changes nothing
    assert len(checks) == 2


def test_a_commit_by_another_writer_between_the_two_looks_is_checked_again(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone else changes a programme after the first check and before export takes its
    snapshot: the snapshot is checked again, and export refuses with nothing written."""
    ok(run("plan", folder, "--format", "json"))
    with sqlite3.connect(db) as conn:
        pid = conn.execute("SELECT min(id) FROM programmes WHERE status != 'cancelled'"
                           ).fetchone()[0]
    conn.close()
    checks = readiness_checks(monkeypatch)
    real_enter = export.ExportHistory.__enter__

    def meddle(self: Any) -> Any:
        with sqlite3.connect(db) as other:
            other.execute("UPDATE programmes SET data_hash = 'edited' WHERE id = ?", (pid,))
        other.close()
        return real_enter(self)

    monkeypatch.setattr(export.ExportHistory, "__enter__", meddle)

    refused = run("export", "--out", "out")

    assert refused.code == 1, refused.output
    assert f"programme `{pid}` changed since it was planned" in refused.output
    assert len(checks) == 2
    assert files(Path("out")) == {}


def test_an_export_that_writes_nothing_does_not_sync_the_disks(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs: list[int] = []
    monkeypatch.setattr(export.AtomicWriter, "sync", lambda self: syncs.append(self.written))
    calls, before = exported(run, folder, monkeypatch)
    assert len(syncs) == 1

    ok(run("export", "--out", "out"))
    assert len(syncs) == 1
    assert files(Path("out")) == before
    page = sorted(Path("out", calls[0], "participants").glob("*.html"))[0]
    page.unlink()
    ok(run("export", "--out", "out"))  # the page is written again, and synced
    assert syncs[1:] == [1]
    assert page.exists()


def test_what_an_export_wrote_is_synced_file_by_file_when_few(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[Path] = []
    system: list[None] = []
    monkeypatch.setattr(export, "_fsync", synced.append)
    monkeypatch.setattr(export.os, "sync", lambda: system.append(None))
    monkeypatch.setattr(export, "FSYNC_EACH_UP_TO", 3)
    calls, before = exported(run, folder, monkeypatch)
    assert len(before) > 3
    assert (synced, len(system)) == ([], 1)  # a first export: the system's sync

    page = sorted(Path("out", calls[0], "participants").glob("*.html"))[0]
    page.unlink()
    ok(run("export", "--out", "out"))
    assert synced == [page.resolve(), page.parent.resolve()]
    assert len(system) == 1


def test_an_export_that_rebuilds_nothing_reads_the_folders_files_once(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files recorded for the folder are read to check the fingerprints; with nothing
    rebuilt there is no fingerprint to store, so they are not read again."""
    calls, before = exported(run, folder, monkeypatch)
    calls.clear()
    reads: list[str] = []
    real = export._folder_files

    def counted(conn: sqlite3.Connection, where: str) -> dict[str, list[str]]:
        reads.append(where)
        return real(conn, where)

    monkeypatch.setattr(export, "_folder_files", counted)

    ok(run("export", "--out", "out"))

    assert calls == []
    assert len(reads) == 1
    assert files(Path("out")) == before


def test_a_deleted_export_folder_is_written_again_whole(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, before = exported(run, folder, monkeypatch)
    ids = list(calls)
    calls.clear()
    for path in sorted(Path("out").rglob("*"), key=lambda p: -len(p.parts)):
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
    Path("out").rmdir()

    ok(run("export", "--out", "out"))

    assert sorted(calls) == ids
    assert {p: b for p, (_, b) in files(Path("out")).items()} == {
        p: b for p, (_, b) in before.items()}


def test_a_history_written_by_another_program_rebuilds_that_programme(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history's triggers see a write that did not come from cxc: export checks the
    history by its version, without reading it."""
    calls, before = exported(run, folder, monkeypatch)
    ids = list(calls)
    calls.clear()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE exported_events SET sequence = sequence + 1 WHERE rowid = "
                     "(SELECT min(rowid) FROM exported_events WHERE calendar LIKE ?)",
                     (f"{ids[1]}/%",))

    ok(run("export", "--out", "out"))

    assert calls == [ids[1]]
    assert changed(before, files(Path("out"))) <= {ids[1]}


def test_a_schema_6_store_is_rebuilt_once_and_no_file_is_rewritten(
        run: Runner, folder: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its fingerprints digested the history itself: every programme is rebuilt once, to
    the same bytes, so no file is rewritten; the export after that rebuilds nothing."""
    calls, before = exported(run, folder, monkeypatch)
    ids = list(calls)
    calls.clear()
    with sqlite3.connect(db) as conn:
        for (trigger,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f'DROP TRIGGER "{trigger}"')
        conn.execute("DROP TABLE history_versions")
        conn.execute("DROP TABLE validations")
        conn.execute("PRAGMA user_version = 6")

    ok(run("export", "--out", "out"))  # opens the store, migrates it

    assert sorted(calls) == ids
    assert files(Path("out")) == before
    calls.clear()
    again = ok(run("export", "--out", "out"))
    assert calls == []
    assert f"({len(ids)} unchanged)" in again.stderr, again.stderr
