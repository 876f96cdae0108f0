"""The edges a newcomer runs into (issue 13): a report with no partnership, Ctrl-C at any
moment, a full disk, a store on read-only media, and counts that meet a pronoun.

Signals, full disks and read-only media are tried on the real `cxc` in a subprocess. As
root (the usual container), a real small file system (tmpfs) fills up and a real
read-only mount holds the store; otherwise a file-size limit stands for the full disk
and permissions for the read-only media.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CXC, PROGRAMME, Runner, edit, other_programme, participant_yaml

from cxc.cli import INTERRUPTED

Write = Callable[[str, str], Path]
ROOT = os.geteuid() == 0


def _cxc(*args: str | Path, cwd: Path, **popen: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CXC), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False, **popen)  # type: ignore[call-overload]


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single message of a failed command, checked to be one line and no traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def _contents(db: Path) -> list[str]:
    """Everything the store holds, as SQL (what "the store is as it was" compares)."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


# -- a report with no partnership ----------------------------------------------------------


def test_a_report_of_an_empty_store_says_the_partnership_is_missing(
    run_cxc: Runner, db: Path,
) -> None:
    db.touch()  # a store made beforehand, or by a command that loaded nothing

    result = run_cxc("report")

    assert result.code == 2, result.output
    [message] = result.stderr.splitlines()
    assert message.startswith(f"cxc: {db}") and "no partnership" in message
    assert "load the partnership file" in message and f"cxc load --db {db}" in message
    assert result.stdout == ""


def test_a_store_of_programmes_only_is_refused_for_its_missing_partnership(
    run: Runner, programme_file: Path,
) -> None:
    assert run("load", programme_file).code == 0

    for args in (("report",), ("report", "--explain", "participants"),
                 ("report", "--format", "json")):
        result = run(*args)
        assert result.code == 2, (args, result.output)
        assert "no partnership" in result.stderr and "partnership file" in result.stderr
        assert result.stdout == ""


def test_a_forced_report_without_partnership_warns_that_there_are_no_targets(
    run: Runner, programme_file: Path,
) -> None:
    assert run("load", programme_file).code == 0

    result = run("report", "--force", "--format", "json")

    assert result.code == 0, result.output
    assert "no partnership" in result.stderr and "--force" in result.stderr
    assert {d["target"] for d in result.json()["deliverables"]} == {None}


# -- Ctrl-C at any moment --------------------------------------------------------------------


def _interrupt_at(command: list[str], delay: float, cwd: Path) -> tuple[int, str]:
    """Start ``command``, send it SIGINT after ``delay`` seconds: its exit code and stderr."""
    import time

    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    if delay:
        time.sleep(delay)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    return child.returncode, stderr


def _check_interrupted(code: int, stderr: str, *, finished: str, dash_m: bool = False) -> None:
    """Interrupted: one line and 130; or finished before the signal came: its own output."""
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    if code == -signal.SIGINT and stderr == "":
        return  # ended by the signal before Python had started: nothing ran (shells say 130)
    if code == 0:
        assert stderr == finished, stderr
        return
    assert stderr == f"{INTERRUPTED}\n", stderr
    # `python -m` ends itself by SIGINT once an interrupt was raised in code that exec()
    # compiled (a dataclass's methods, say), caught or not: CPython's Py_RunMain.
    assert code == 130 or (dash_m and code == -signal.SIGINT), code


REPEATS = 4
OWN_SOURCE = Path(__import__("cxc").__file__).parent
"""cxc's own modules: a traceback through none of them came before cxc's first line ran."""


@pytest.mark.parametrize("delay", [0, 0.02, 0.05, 0.1, 0.2])
@pytest.mark.parametrize("how", ["script", "python -m"])
def test_ctrl_c_at_any_moment_gives_one_line_and_130_never_a_traceback(
    loaded_store: Path, workdir: Path, delay: float, how: str,
) -> None:
    start = [str(CXC)] if how == "script" else [sys.executable, "-m", "cxc"]
    finished = _cxc("--db", loaded_store, "validate", cwd=workdir).stderr

    for _ in range(REPEATS):
        code, stderr = _interrupt_at([*start, "--db", str(loaded_store), "validate"], delay,
                                     workdir)
        if delay < 0.1 and _before_cxc(stderr):
            continue  # a machine so loaded that Python was still starting (see below)
        _check_interrupted(code, stderr, finished=finished, dash_m=how == "python -m")


def _before_cxc(stderr: str) -> bool:
    """A traceback none of whose frames is in cxc's modules: the interrupt came while Python
    itself was starting (site, the launcher's `import re`, finding the `cxc` package), which
    no program can answer; from the entry point's first line on, cxc answers it."""
    import re

    frames = re.findall(r'^  File "([^"]+)"', stderr, re.MULTILINE)
    return "KeyboardInterrupt" in stderr and not any(
        Path(frame).is_relative_to(OWN_SOURCE) for frame in frames)


LAUNCH = """
import importlib, os, re, signal, sys
entry, name = re.search(r"^from (\\S+) import (\\w+)$", open(sys.argv[1]).read(), re.M).groups()
main = getattr(importlib.import_module(entry), name)
heavy = sorted({"typer", "rich", "click", "sqlite3", "yaml", "sqlite_utils"} & set(sys.modules))
if heavy:
    sys.exit(f"the entry point {entry} imports {heavy} before it can answer Ctrl-C")
sys.argv = sys.argv[1:]
signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
signal.setitimer(signal.ITIMER_REAL, float(os.environ["DELAY"]))
main()
"""
"""The installed `cxc` launcher's entry point, imported (it must be light: nothing of the
command line yet), then run with an interrupt due ``DELAY`` seconds later: the moment is
counted from cxc's own start, whatever the load of the machine."""


@pytest.mark.parametrize("delay", [0.0005, 0.001, 0.003, 0.006, 0.01, 0.02, 0.035, 0.05, 0.08,
                                   0.12, 0.2])
def test_ctrl_c_while_cxc_is_still_importing_gives_one_line_and_130(
    loaded_store: Path, workdir: Path, delay: float,
) -> None:
    finished = _cxc("--db", loaded_store, "validate", cwd=workdir).stderr
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", LAUNCH, str(CXC), "--db", str(loaded_store), "validate"],
            cwd=workdir, capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "DELAY": str(delay)})

        _check_interrupted(done.returncode, done.stderr, finished=finished)
        assert done.returncode in (0, 130), done.returncode


def test_python_dash_m_cxc_runs_the_command_line(workdir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "cxc", "--version"], cwd=workdir,
                          capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cxc ")


# -- a full disk -----------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB file system (tmpfs), for root; skipped where it cannot be mounted."""
    if not ROOT:
        pytest.skip("mounting a small file system needs root; the file-size limit stands in")
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path, leave: int) -> None:
    """Fill the file system of ``folder`` until only ``leave`` bytes are free."""
    info = os.statvfs(folder)
    free = info.f_bavail * info.f_frsize
    (folder / "filler").write_bytes(b"\0" * max(free - leave, 0))


def _limited(size: int) -> Callable[[], None]:
    """A child's set-up: no file it writes may grow past ``size`` bytes (writes past it fail
    with EFBIG, as on a disk that is full, instead of killing it with SIGXFSZ)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def _disk_full_message(message: str, name: str) -> None:
    assert message.startswith(f"cxc: {name}: "), message
    assert "disk is full" in message or "larger than this system allows" in message, message
    assert "nothing was changed" in message, message
    assert "rollback" not in message and ".new" not in message, message


def test_a_first_load_onto_a_full_disk_says_so_and_leaves_no_store(
    small_disk: Path, partnership_file: Path, programme_file: Path,
) -> None:
    _fill(small_disk, 64 * 1024)

    done = _cxc("--db", "cxc.db", "load", partnership_file, programme_file, cwd=small_disk)

    assert done.returncode == 2, done.stderr
    _disk_full_message(_one_line(done), "cxc.db")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def test_a_load_that_fills_the_disk_says_so_and_leaves_the_store_as_it_was(
    small_disk: Path, partnership_file: Path, write: Write,
) -> None:
    assert _cxc("--db", "cxc.db", "load", partnership_file, cwd=small_disk).returncode == 0
    before = _contents(small_disk / "cxc.db")
    big = write("big.yaml", _many_participants(400))
    _fill(small_disk, 48 * 1024)

    done = _cxc("--db", "cxc.db", "load", big, cwd=small_disk)

    assert done.returncode == 2, done.stderr
    _disk_full_message(_one_line(done), "cxc.db")
    (small_disk / "filler").unlink()
    assert _contents(small_disk / "cxc.db") == before


@pytest.mark.parametrize("existing", [False, True])
def test_a_file_size_limit_is_a_store_that_cannot_grow_and_nothing_changes(
    workdir: Path, partnership_file: Path, write: Write, existing: bool,
) -> None:
    db = workdir / "cxc.db"
    if existing:
        assert _cxc("--db", db, "load", partnership_file, cwd=workdir).returncode == 0
        before = _contents(db)
        args: tuple[str | Path, ...] = (write("big.yaml", _many_participants(400)),)
    else:
        args = (partnership_file,)

    done = _cxc("--db", "cxc.db", "load", *args, cwd=workdir, preexec_fn=_limited(40_000))

    assert done.returncode == 2, done.stderr
    message = _one_line(done)
    assert message.startswith("cxc: cxc.db: ") and "nothing was changed" in message, message
    assert "disk" in message and "rollback" not in message, message
    if existing:
        assert _contents(db) == before
    else:
        assert not db.exists()
        assert [p.name for p in workdir.iterdir() if p.name.startswith(".")] == []


def _many_participants(n: int) -> str:
    people = "".join(participant_yaml(f"person{i}@example.com", partner="barna-bio")
                     for i in range(n))
    return other_programme("d3-big", participants=people)


# -- a store on read-only media -------------------------------------------------------------


@pytest.fixture
def read_only_store(tmp_path: Path, run_cxc: Runner, partnership_file: Path,
                    programme_file: Path, db: Path) -> Iterator[Path]:
    """A planned store in a folder that cannot be written: a read-only bind mount as root
    (permissions do not stop root), the folder and file made read-only otherwise."""
    assert run_cxc("plan", partnership_file, programme_file).code == 0
    source = tmp_path / "media"
    source.mkdir()
    db.rename(source / "cxc.db")
    if ROOT:
        folder = tmp_path / "ro"
        folder.mkdir()
        for step in (["mount", "--bind", str(source), str(folder)],
                     ["mount", "-o", "remount,bind,ro", str(folder)]):
            done = subprocess.run(step, capture_output=True, text=True, check=False)
            if done.returncode:
                subprocess.run(["umount", str(folder)], capture_output=True, check=False)
                pytest.skip(f"root, and cannot make a read-only mount: {done.stderr.strip()}")
        try:
            yield folder / "cxc.db"
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
    else:
        (source / "cxc.db").chmod(0o444)
        source.chmod(0o555)
        try:
            yield source / "cxc.db"
        finally:
            source.chmod(0o755)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("args", [("validate",), ("report",), ("report", "--explain", "smes"),
                                  ("changes",), ("validate", "--format", "json")])
def test_a_read_only_store_can_be_read(read_only_store: Path, workdir: Path,
                                       args: tuple[str, ...]) -> None:
    before = sorted(os.listdir(read_only_store.parent))

    done = _cxc("--db", read_only_store, *args, cwd=workdir)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert sorted(os.listdir(read_only_store.parent)) == before


def test_sheets_are_written_from_a_read_only_store(read_only_store: Path, workdir: Path) -> None:
    done = _cxc("--db", read_only_store, "sheets", "--out", workdir / "out", cwd=workdir)

    assert done.returncode == 0, done.stderr
    assert list((workdir / "out").rglob("attendance.pdf"))


@pytest.mark.parametrize("args", [("plan",), ("load", "programme.yaml"), ("export", "--out", "out"),
                                  ("forget", "ana.garcia@example.com")])
def test_a_command_that_writes_says_in_one_line_that_the_store_is_read_only(
    read_only_store: Path, workdir: Path, programme_file: Path, args: tuple[str, ...],
) -> None:
    before = _digest(read_only_store)

    done = _cxc("--db", read_only_store, *args, cwd=workdir)

    assert done.returncode == 2, done.stderr
    message = _one_line(done)
    assert message.startswith(f"cxc: {read_only_store}: the store is read-only"), message
    assert "--db" in message  # what to do: work on a copy
    assert _digest(read_only_store) == before
    assert not (workdir / "out").exists()


# -- counts and pronouns ---------------------------------------------------------------------


def test_one_error_is_it_and_two_are_them(
    run: Runner, partnership_file: Path, write: Write,
) -> None:
    one = edit(PROGRAMME, "barna-bio: 3", "barna-bio: 2")  # a delegation of three
    assert run("load", partnership_file, write("programme.yaml", one)).code == 0

    result = run("export", "--out", "out")

    assert result.code == 1, result.output
    assert "has 1 error (see `cxc validate`); fix it, then" in result.stderr, result.stderr

    two = edit(one, "tallinn-med: 3", "tallinn-med: 2")
    assert run("load", partnership_file, write("programme.yaml", two)).code == 0

    result = run("export", "--out", "out")

    assert "has 2 errors (see `cxc validate`); fix them, then" in result.stderr, result.stderr


def test_a_load_of_one_session_and_one_registration_says_so_in_the_singular(
    run: Runner, partnership_file: Path, write: Write,
) -> None:
    small = write("small.yaml", other_programme(
        "d3-small", participants=participant_yaml("ana@example.com", partner="barna-bio")))

    result = run("load", partnership_file, small)

    assert result.code == 0, result.output
    assert "1 session, 1 registration " in result.stderr, result.stderr


# -- suggestions for the report's options ----------------------------------------------------


@pytest.mark.parametrize(("args", "suggested"), [
    (("--partner", "lile-health"), "lille-health"),
    (("--explain", "sme"), "smes"),
    (("--explain", "study-visits"), "study_visits"),
])
def test_a_mistyped_partner_or_key_of_the_report_gets_a_did_you_mean(
    run: Runner, partnership_file: Path, programme_file: Path, args: tuple[str, ...],
    suggested: str,
) -> None:
    assert run("load", partnership_file, programme_file).code == 0

    result = run("report", *args)

    assert result.code == 2, result.output
    [message] = result.stderr.splitlines()
    assert f"did you mean `{suggested}`?" in message, message


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [("report",), ("validate",), ("schema",)])
def test_output_to_a_full_disk_says_the_disk_is_full(
    loaded_store: Path, workdir: Path, args: tuple[str, ...],
) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([str(CXC), "--db", str(loaded_store), *args], cwd=workdir,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
                              check=False)

    assert done.returncode == 2, done.stderr
    message = _one_line(done)  # type: ignore[arg-type]
    assert "disk is full" in message, message


def test_ctrl_c_during_a_lazy_import_is_an_interruption_not_an_internal_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Python wraps an interrupt that lands while a class is being made (a module imported
    # by a command) in RuntimeError("Error calling __set_name__ ..."): it is still Ctrl-C.
    from cxc import cli

    def interrupted_while_importing(**_: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__ on 'cached_property' instance "
                               "'partner_ids' in 'Snapshot'") from exc

    monkeypatch.setattr(cli, "app", interrupted_while_importing)
    with pytest.raises(SystemExit) as exit_:
        cli.main()

    assert exit_.value.code == 130
    assert capsys.readouterr().err == INTERRUPTED + "\n"


def test_ctrl_c_in_a_weak_reference_callback_is_an_interruption_not_a_traceback(
        tmp_path: Path) -> None:
    """The import system drops its module locks in weak reference callbacks; an interrupt
    landing in one cannot be raised, and Python would print it as "Exception ignored"."""
    script = (
        "import sys, weakref\n"
        "from cxc import __main__ as entry\n"
        "from cxc import cli\n"
        "class Lock: pass\n"
        "def command():\n"
        "    lock = Lock()\n"
        "    def dropped(_):\n"
        "        raise KeyboardInterrupt\n"
        "    ref = weakref.ref(lock, dropped)\n"
        "    del lock\n"
        "    print('the command went on')\n"
        "cli.main = command\n"
        "entry.main()\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)

    assert (done.returncode, done.stdout, done.stderr) == (130, "", INTERRUPTED + "\n")
