"""Numbers a reporting officer can trust: `cxc report` over a store with errors, CSV that a
spreadsheet opens safely, activities listed twice, and the farewell dinner after midnight.

Each test is a story through the real CLI: YAML files on disk, `cxc load` into a real
SQLite store, then `cxc validate` and `cxc report` as a user runs them.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import PARTNERSHIP, PROGRAMME, Checked, Runner, edit, line_of

Write = Callable[[str, str], Path]

HELD = edit(PROGRAMME, "status: confirmed", "status: held")
"""The valid Cluster Exchange of conftest, now over: it counts in the report."""

# Two errors: six registrations for five places, and three delegates of Barna Bio for a
# quota of two.
TWO_ERRORS = edit(edit(HELD, "capacity: 10\n  quotas", "capacity: 5\n  quotas"),
                  "barna-bio: 3", "barna-bio: 2")

REPORTS: tuple[tuple[str, ...], ...] = (
    (),
    ("--format", "table"),
    ("--format", "json"),
    ("--format", "csv"),
    ("--format", "markdown"),
    ("--explain", "participants"),
    ("--explain", "organisations", "--format", "csv"),
    ("--explain", "eccp_posts", "--format", "json"),
    ("--format", "json", "--from", "2024-01-01", "--partner", "lille-health"),
)


def _load(run: Runner, write: Write, programme: str, partnership: str = PARTNERSHIP) -> None:
    loaded = run("load", write("partnership.yaml", partnership),
                 write("programme.yaml", programme))
    assert loaded.code == 0, loaded.output


def _actuals(run: Runner, *args: str) -> dict[str, int]:
    done = run("report", "--format", "json", *args)
    assert done.code == 0, done.output
    return {d["key"]: d["actual"] for d in done.json()["deliverables"]}


# -- 1. a store with errors is not reported on, unless forced --------------------------------


@pytest.mark.parametrize("args", REPORTS, ids=[" ".join(a) or "default" for a in REPORTS])
def test_a_store_with_errors_is_refused_with_the_count_of_errors(
    run: Runner, write: Write, args: tuple[str, ...],
) -> None:
    _load(run, write, TWO_ERRORS)
    validated = run("validate", "--format", "json")
    assert (validated.code, validated.json()["errors"]) == (1, 2)

    refused = run("report", *args)

    assert refused.code == 1
    assert refused.stdout == ""   # no numbers
    assert refused.stderr == ("cxc: the store has 2 errors (see `cxc validate`); "
                              "fix them, or report anyway with --force\n")


def test_one_error_is_one_error(run: Runner, write: Write) -> None:
    _load(run, write, edit(HELD, "barna-bio: 3", "barna-bio: 2"))

    refused = run("report")

    assert refused.code == 1 and refused.stdout == ""
    assert refused.stderr == ("cxc: the store has 1 error (see `cxc validate`); "
                              "fix it, or report anyway with --force\n")


@pytest.mark.parametrize("args", REPORTS, ids=[" ".join(a) or "default" for a in REPORTS])
def test_force_reports_anyway_with_the_warning_on_stderr(
    run: Runner, write: Write, args: tuple[str, ...],
) -> None:
    _load(run, write, HELD)
    clean = run("report", *args)
    assert (clean.code, clean.stderr) == (0, "")
    _load(run, write, TWO_ERRORS)   # the same people and sessions: the same numbers

    forced = run("report", *args, "--force")

    assert forced.code == 0
    assert forced.stdout == clean.stdout
    assert forced.stderr == ("cxc: warning: the store has 2 errors (see `cxc validate`); "
                             "reported anyway (--force), the counts may be wrong\n")


def test_force_on_a_clean_store_changes_nothing(run: Runner, write: Write) -> None:
    _load(run, write, HELD)

    plain, forced = run("report", "-f", "json"), run("report", "-f", "json", "--force")

    assert (forced.code, forced.stdout, forced.stderr) == (0, plain.stdout, "")


def test_warnings_do_not_stop_the_report(run: Runner, write: Write) -> None:
    # 15 minutes to walk from the campus to the lab: two tight-transfer warnings
    _load(run, write, edit(HELD, "end: 2024-03-28 11:00", "end: 2024-03-28 13:45"))
    assert run("validate").code == 0
    assert run("validate", "--strict").code == 1

    done = run("report", "--format", "json")

    assert (done.code, done.stderr) == (0, "")
    assert {d["key"]: d["actual"] for d in done.json()["deliverables"]}["cxc"] == 1


def test_a_store_fixed_is_reported_again(run: Runner, write: Write) -> None:
    _load(run, write, TWO_ERRORS)
    assert run("report").code == 1

    _load(run, write, HELD)

    assert _actuals(run)["participants"] == 6


def test_bad_usage_is_still_exit_2_on_a_store_with_errors(run: Runner, write: Write) -> None:
    _load(run, write, TWO_ERRORS)

    for args in (("--partner", "nobody"), ("--explain", "visits"), ("--to", "tomorrow")):
        done = run("report", *args)
        assert done.code == 2, (args, done.output)
        assert "--force" not in done.stderr


# -- 2. CSV a spreadsheet opens without running anything -----------------------------------

EVIL = '=HYPERLINK("http://evil.example","x")'


def test_an_organisation_named_like_a_formula_is_quoted_in_the_csv(
    run: Runner, write: Write,
) -> None:
    programme = edit(edit(edit(edit(
        HELD, "organisation: Mediscan SL", "organisation: '" + EVIL + "'"),
        "organisation: Salut Digital SL", "organisation: '+34 Salut Digital'"),
        "organisation: Medtech OU", "organisation: '-Medtech OU'"),
        "organisation: Tartu University Hospital", "organisation: '@Tartu Hospital'")
    _load(run, write, programme)

    done = run("report", "--explain", "organisations", "--format", "csv")

    assert done.code == 0, done.output
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["organisation", "org_types", "programmes"]
    names = sorted(row[0] for row in rows[1:])
    assert names == sorted(["'" + EVIL, "'+34 Salut Digital", "'-Medtech OU",
                            "'@Tartu Hospital", "Barna Bio", "Tallinn Med"])
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    # the JSON is data, not a spreadsheet: the name as written
    as_json = run("report", "--explain", "organisations", "--format", "json").json()
    assert EVIL in [r["organisation"] for r in as_json["evidence"]]


def test_activity_titles_like_formulas_are_quoted_and_numbers_are_not(
    run: Runner, write: Write,
) -> None:
    partnership = edit(PARTNERSHIP, 'title: "Lille Health: our first Cluster Exchange"',
                       'title: "-1 day to go: =SUM(A1:A9)"')
    _load(run, write, HELD, partnership)

    explained = run("report", "--explain", "eccp_posts", "--format", "csv")
    counted = run("report", "--format", "csv")

    assert list(csv.reader(io.StringIO(explained.stdout))) == [
        ["date", "partner", "title"], ["2024-04-15", "lille-health", "'-1 day to go: =SUM(A1:A9)"]]
    rows = {row[0]: row for row in csv.reader(io.StringIO(counted.stdout))}
    assert rows["eccp_posts"] == ["eccp_posts", "ECCP posts", "1", ""]
    assert rows["cxc"] == ["cxc", "Cluster exchanges", "1", "2"]


def test_every_formula_start_is_quoted_by_the_csv_format() -> None:
    """Tab and carriage return cannot come from the YAML (the loader trims names), so the
    format function is given them directly."""
    from cxc.report import Deliverable, Evidence, Period, evidence_csv

    names = ("=1+1", "+1", "-1", "@SUM(A1)", "\tTab", "\rReturn", "Plain", "O'Neil", " =space")
    evidence = Evidence(Period(), None, Deliverable("organisations", "Organisations", 9, None),
                        "note", ("organisation", "people"),
                        tuple((name, -1 if name == "-1" else 1) for name in names))

    assert evidence_csv(evidence) == (
        "organisation,people\n'=1+1,1\n'+1,1\n'-1,-1\n'@SUM(A1),1\n'\tTab,1\n'\rReturn,1\n"
        "Plain,1\nO'Neil,1\n =space,1\n")


# -- 3. an activity listed twice -------------------------------------------------------------

ACTIVITY = """\
  - kind: eccp_post
    partner: lille-health
    date: 2024-04-15
    title: "Lille Health: our first Cluster Exchange"
"""


def _with_activities(*entries: str) -> str:
    return edit(PARTNERSHIP, ACTIVITY, ACTIVITY + "".join(entries))


def test_an_activity_listed_twice_is_a_warning_and_still_counts_twice(
    run: Runner, write: Write, check: Callable[..., Checked],
) -> None:
    again = edit(ACTIVITY, '"Lille Health: our first Cluster Exchange"',
                 '"  lille health: OUR FIRST cluster exchange "')
    partnership = _with_activities(again)

    checked = check(HELD, partnership=partnership)

    assert checked.rules == {"duplicate-activity"}
    [finding] = checked.findings
    first = line_of(partnership, "- kind: eccp_post", 1)
    assert finding["severity"] == "warning"
    assert (finding["file"], finding["line"]) == (
        "partnership.yaml", line_of(partnership, "- kind: eccp_post", 2))
    assert f"line {first}" in finding["message"]
    assert finding["programme"] is None
    assert checked.result.code == 0 and checked.strict.code == 1
    assert _actuals(run)["eccp_posts"] == 2   # a warning: the report counts what is listed


def test_titles_are_compared_as_unicode_text(check: Callable[..., Checked]) -> None:
    composed = unicodedata.normalize("NFC", "Eurasanté à Lille")
    decomposed = unicodedata.normalize("NFD", "EURASANTÉ À LILLE")
    assert composed.casefold() != decomposed.casefold()
    entries = [edit(ACTIVITY, '"Lille Health: our first Cluster Exchange"', f'"{title}"')
               for title in (composed, decomposed)]
    partnership = _with_activities(*entries)

    checked = check(HELD, partnership=partnership)

    assert [(f["rule"], f["line"]) for f in checked.findings] == [
        ("duplicate-activity", line_of(partnership, "- kind: eccp_post", 3))]
    assert f"line {line_of(partnership, '- kind: eccp_post', 2)}" in checked.findings[0]["message"]


def test_three_listings_are_two_repeats_of_the_first(check: Callable[..., Checked]) -> None:
    partnership = _with_activities(ACTIVITY, ACTIVITY)

    checked = check(HELD, partnership=partnership)

    first = line_of(partnership, "- kind: eccp_post", 1)
    assert sorted(f["line"] for f in checked.of("duplicate-activity")) == [
        line_of(partnership, "- kind: eccp_post", 2), line_of(partnership, "- kind: eccp_post", 3)]
    assert all(f"line {first}" in f["message"] for f in checked.findings)


@pytest.mark.parametrize(("old", "new"), [
    ("kind: eccp_post", "kind: promotional_event"),
    ("partner: lille-health", "partner: barna-bio"),
    ("date: 2024-04-15", "date: 2024-04-16"),
    ("our first Cluster Exchange", "our second Cluster Exchange"),
], ids=["kind", "partner", "date", "title"])
def test_activities_that_differ_in_one_field_are_two(
    check: Callable[..., Checked], old: str, new: str,
) -> None:
    checked = check(HELD, partnership=_with_activities(edit(ACTIVITY, old, new)))

    assert checked.findings == []


# -- 4. the farewell dinner ------------------------------------------------------------------

FAREWELL = """\
  - id: farewell
    title: Farewell dinner
    kind: meal
    venue: campus
    start: {start}
    end: {end}
participants:
"""


def _with_session(start: str, end: str) -> str:
    return edit(HELD, "participants:\n", FAREWELL.format(start=start, end=end))


def test_a_farewell_dinner_on_the_last_day_may_end_after_midnight(
    run: Runner, check: Callable[..., Checked],
) -> None:
    programme = _with_session("2024-04-01 20:00", "2024-04-02 01:00")

    checked = check(programme)

    assert checked.of("bad-dates") == []
    # people flying home before dinner miss it: a warning, so the report still runs
    assert {f["severity"] for f in checked.findings} <= {"warning"}
    assert checked.result.code == 0
    assert _actuals(run)["cxc"] == 1


@pytest.mark.parametrize(("start", "end", "why"), [
    ("2024-04-01 20:00", "2024-04-03 01:00", "ends two days after the last day"),
    ("2024-03-31 20:00", "2024-04-02 01:00", "starts before the last day, ends after it"),
    ("2024-04-02 00:30", "2024-04-02 01:30", "starts after the last day"),
    ("2024-04-01 23:00", "2024-04-01 22:00", "ends before it starts"),
], ids=["two days after", "over the last day", "after the last day", "backwards"])
def test_a_session_past_the_last_day_is_still_refused(
    run: Runner, check: Callable[..., Checked], start: str, end: str, why: str,
) -> None:
    programme = _with_session(start, end)

    checked = check(programme)

    found = checked.of("bad-dates")
    assert [(f["session"], f["line"]) for f in found] != [], why
    assert {(f["session"], f["line"]) for f in found} == {
        ("farewell", line_of(programme, "- id: farewell"))}, why
    assert checked.result.code == 1
    refused = run("report")
    assert (refused.code, refused.stdout) == (1, "")
