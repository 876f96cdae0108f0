"""The command line a newcomer meets: help, --db anywhere, plain errors, honest exit codes
under pipes and on limited consoles, Ctrl-C (issue 13)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import CXC, PROGRAMME, Runner, edit

COMMANDS = ["load", "validate", "plan", "export", "report", "forget"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_every_command_has_help_with_examples_and_exit_codes(
    run: Runner, command: str, flag: str,
) -> None:
    result = run(command, flag, db=None)

    assert result.code == 0, result.output
    assert "Examples:" in result.stdout
    assert f"cxc {command}" in result.stdout.split("Examples:")[1]
    assert "Exit codes: 0" in result.stdout and " 2 " in result.stdout
    for python_like in ("<list[", "<str>", "<Path>", "{PATH", "{EMAIL"):
        assert python_like not in result.stdout, result.stdout


def test_the_top_level_help_answers_to_h(run: Runner) -> None:
    result = run("-h", db=None)

    assert result.code == 0
    assert "Exit codes" in result.stdout


def test_db_is_accepted_after_the_command(
    run: Runner, workdir: Path, partnership_file: Path, programme_file: Path,
) -> None:
    demo = workdir / "demo.db"
    assert run("load", "--db", demo, partnership_file, programme_file, db=None).code == 0
    assert demo.exists() and not (workdir / "cxc.db").exists()

    for args in (("validate", "--db", "demo.db"), ("plan", "--db", "demo.db"),
                 ("report", "--db", "demo.db"),
                 ("export", "--db", "demo.db", "--out", "out")):
        result = run(*args, db=None)
        assert result.code == 0, (args, result.output)
    assert not (workdir / "cxc.db").exists()


def test_db_after_the_command_overrides_the_one_before(
    run: Runner, workdir: Path, partnership_file: Path, programme_file: Path,
) -> None:
    assert run("load", "--db", "demo.db", partnership_file, programme_file, db=None).code == 0

    result = run("--db", "nowhere.db", "validate", "--db", "demo.db", db=None)

    assert result.code == 0, result.output


@pytest.mark.parametrize(("command", "choices"), [
    ("validate", "text, json"), ("plan", "text, json"),
    ("report", "table, json, csv, markdown"),
])
def test_a_format_outside_the_choices_lists_them_in_plain_words(
    run: Runner, command: str, choices: str,
) -> None:
    result = run(command, "--format", "xml")

    assert result.code == 2
    assert f"cxc: --format must be one of: {choices}" in result.stderr, result.stderr
    assert "Value error" not in result.stderr


def _with_reader_gone(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run cxc with stdout a pipe whose reader has already gone (`cxc plan | head -0`)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([str(CXC), *args], cwd=cwd, stdout=write, stderr=subprocess.PIPE,
                              timeout=120, check=False)
    finally:
        os.close(write)


@pytest.mark.parametrize("args", [["plan"], ["validate"], ["validate", "--format", "json"],
                                  ["report"]])
def test_a_reader_that_stops_early_leaves_the_exit_code_honest(
    loaded_store: Path, workdir: Path, args: list[str],
) -> None:
    done = _with_reader_gone(["--db", str(loaded_store), *args], workdir)

    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr


def test_a_reader_that_stops_early_still_hears_of_errors(
    run: Runner, write: object, workdir: Path, partnership_file: Path,
) -> None:
    broken = workdir / "programme.yaml"
    broken.write_text(edit(PROGRAMME, "    venue: studio\n", "    venue: studoi\n"),
                      encoding="utf-8")
    assert run("load", partnership_file, broken).code == 0

    done = _with_reader_gone(["--db", str(workdir / "cxc.db"), "validate"], workdir)

    assert done.returncode == 1, done.stderr


@pytest.mark.parametrize("args", [("report",), ("plan",), ("validate",)])
def test_a_console_that_cannot_show_every_character_does_not_fail(
    loaded_store: Path, workdir: Path, args: tuple[str, ...],
) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    done = subprocess.run([str(CXC), "--db", str(loaded_store), *args], cwd=workdir, env=env,
                          capture_output=True, timeout=120, check=False)
    stdout, stderr = done.stdout.decode("cp1252"), done.stderr.decode("cp1252")

    assert done.returncode == 0, stderr
    assert "internal error" not in stdout + stderr
    assert stdout.strip()


def test_ctrl_c_says_so_and_exits_130(
    run: Runner, loaded_store: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cxc.rules

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cxc.rules, "validate_store", interrupted)

    result = run("validate")

    assert result.code == 130
    assert result.stderr.startswith("cxc: interrupted;"), result.stderr
