"""The rules before and after a rewrite, on randomly damaged stores: the same findings.

    python bench/rules_equivalence.py [--stores N] [--seed S] [--old PATH]
    python bench/rules_equivalence.py --time STORE [--old PATH] [--repeat N]

``--old`` is the rules module as it was (default ``bench/_old_checks.py``; make it with
``git show REV:src/cxc/rules/checks.py > bench/_old_checks.py``). Each store is the BRIGHT
programmes or a small generated data set (``bench/generate.py``, 20 programmes), loaded by
cxc, then damaged at random in SQL: ids repeated, capacities and quotas lowered, partners
renamed or the partnership removed, times moved (into DST gaps too), venues removed or
mistyped, fixed choices, statuses, programmes cancelled. Old and new findings are compared
as whole findings (rule, severity, message, file, line, programme, participant, session,
venue); a difference must be one the rewrite meant (``ALLOWED``), else exit 1.

``--time`` runs both on one loaded store (best of ``--repeat``, CPU time of the rules only).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from cxc.errors import Finding
from cxc.rules import validate
from cxc.store import read_snapshot

ROOT = Path(__file__).resolve().parent.parent
Key = tuple[object, ...]

ALLOWED = {
    "first-of-repeated-id": "a file repeats a session or venue id: lookups take the first row "
                            "now (issue 12, deliverable 4)",
    "undefined-venue-transfer": "no tight-transfer to or from an undefined venue (issue 13)",
    "no-venue": "a session without a venue is a tight-transfer warning (issue 13)",
    "partnership-hint-once": "no partners: one finding says to load the partnership file, "
                             "the others no longer repeat it (issue 13)",
}


def key(f: Finding) -> Key:
    return (f.rule, f.severity, f.message, f.file, f.line, f.programme, f.participant,
            f.session, f.venue)


def old_rules(path: Path, *, first: bool = False) -> ModuleType:
    """The old rules; with ``first``, changed to take a repeated id's first row (``FIRST``)."""
    source = path.read_text(encoding="utf-8")
    if first:
        for old, new in FIRST:
            if old not in source:
                sys.exit(f"rules_equivalence: {path} has no {old!r}")
            source = source.replace(old, new)
    name = "old_checks_first" if first else "old_checks"
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


FIRST = (
    ("ORDER BY v.rowid DESC LIMIT 1", "ORDER BY v.rowid LIMIT 1"),
    ("ORDER BY s.rowid DESC LIMIT 1", "ORDER BY s.rowid LIMIT 1"),
    ("{s.id: s for s in self.sessions.get(file, ())}",
     "{s.id: s for s in reversed(self.sessions.get(file, ()))}"),
)
"""The old rules' lookups of a session or venue by id, made to take the first row: with these
three edits only, the old rules must agree with the new ones on a file that repeats an id."""


def findings(check: Callable[[sqlite3.Connection], list[Finding]], db: Path) -> list[Key]:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        with read_snapshot(conn):
            return sorted(key(f) for f in check(conn))
    finally:
        conn.close()


# -- the data ---------------------------------------------------------------------------------


def base_stores(work: Path) -> list[Path]:
    generated = work / "generated"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--out", str(generated),
                    "--programmes", "20", "--registrations", "1000", "--seed", "7"],
                   check=True, capture_output=True)
    stores = []
    for name, folder in (("bright", ROOT / "programmes" / "bright"), ("generated", generated)):
        db = work / f"{name}.db"
        subprocess.run([str(Path(sys.executable).with_name("cxc")), "--db", str(db), "load", str(folder)],
                       check=True, capture_output=True)
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        stores.append(db)
    return stores


def _pick(conn: sqlite3.Connection, rng: random.Random, sql: str, *params: object) -> list[object]:
    rows = conn.execute(sql, params).fetchall()
    return list(rng.choice(rows)) if rows else []


def _some(conn: sqlite3.Connection, rng: random.Random, table: str, share: float) -> list[int]:
    ids = [r for (r,) in conn.execute(f"SELECT rowid FROM {table}")]
    return rng.sample(ids, max(1, int(len(ids) * share))) if ids else []


def _shift(column: str, hours: int) -> str:
    return (f"{column}_local = strftime('%Y-%m-%d %H:%M', {column}_local, '{hours:+d} hours'), "
            f"{column}_utc = strftime('%Y-%m-%dT%H:%M:%SZ', {column}_utc, '{hours:+d} hours')")


def damage(conn: sqlite3.Connection, rng: random.Random) -> list[str]:
    """A few random edits, each a mistake a coordinator could make; what was done."""
    edits = rng.sample(list(EDITS), rng.randint(1, 4))
    for edit in edits:
        EDITS[edit](conn, rng)
    return edits


def _repeat_session_id(conn: sqlite3.Connection, rng: random.Random) -> None:
    row = _pick(conn, rng, "SELECT a.rowid, b.id FROM sessions a JOIN sessions b "
                           "ON a.file = b.file AND a.rowid != b.rowid")
    if row:
        conn.execute("UPDATE sessions SET id = ? WHERE rowid = ?", (row[1], row[0]))


def _repeat_venue_id(conn: sqlite3.Connection, rng: random.Random) -> None:
    row = _pick(conn, rng, "SELECT a.rowid, b.id FROM venues a JOIN venues b "
                           "ON a.file = b.file AND a.rowid != b.rowid")
    if row:
        conn.execute("UPDATE venues SET id = ?, capacity = ? WHERE rowid = ?",
                     (row[1], rng.choice([None, 1, 5, 500]), row[0]))


def _lower_capacities(conn: sqlite3.Connection, rng: random.Random) -> None:
    for table in ("sessions", "venues"):
        for rowid in _some(conn, rng, table, 0.2):
            conn.execute(f"UPDATE {table} SET capacity = ? WHERE rowid = ?",
                         (rng.choice([None, 0, 1, 3, 8]), rowid))
    for rowid in _some(conn, rng, "programmes", 0.3):
        conn.execute("UPDATE programmes SET capacity = max(1, coalesce(capacity, 40) / 3) "
                     "WHERE rowid = ?", (rowid,))
    for rowid in _some(conn, rng, "quotas", 0.3):
        conn.execute("UPDATE quotas SET count = count / 3 WHERE rowid = ?", (rowid,))


def _rename_partner(conn: sqlite3.Connection, rng: random.Random) -> None:
    for rowid in _some(conn, rng, "partners", 0.1):
        conn.execute("UPDATE partners SET id = id || 'x' WHERE rowid = ?", (rowid,))
    row = _pick(conn, rng, "SELECT rowid FROM registrations")
    if row:
        conn.execute("UPDATE registrations SET partner = 'nobody' WHERE rowid = ?", row)


def _remove_partnership(conn: sqlite3.Connection, rng: random.Random) -> None:
    for table in ("partnership", "partners", "activities", "targets"):
        conn.execute(f"DELETE FROM {table}")


def _move_times(conn: sqlite3.Connection, rng: random.Random) -> None:
    for rowid in _some(conn, rng, "sessions", 0.1):
        hours = rng.choice([-30, -3, -1, 1, 2, 26])
        column = rng.choice(["start", "end"])
        conn.execute(f"UPDATE sessions SET {_shift(column, hours)} WHERE rowid = ?", (rowid,))
    for rowid in _some(conn, rng, "travel_legs", 0.05):
        hours = rng.choice([-20, -2, 3, 30])
        column = rng.choice(["depart", "arrive"])
        conn.execute(f"UPDATE travel_legs SET {_shift(column, hours)} WHERE rowid = ?", (rowid,))
    for rowid in _some(conn, rng, "stays", 0.05):
        conn.execute("UPDATE stays SET check_out = date(check_in, '-1 day') WHERE rowid = ?",
                     (rowid,))


def _time_in_gap(conn: sqlite3.Connection, rng: random.Random) -> None:
    row = _pick(conn, rng, "SELECT rowid FROM sessions")
    if row:
        conn.execute("UPDATE sessions SET start_local = '2024-03-31 02:30', "
                     "start_tz = 'Europe/Paris' WHERE rowid = ?", row)


def _remove_venues(conn: sqlite3.Connection, rng: random.Random) -> None:
    for rowid in _some(conn, rng, "sessions", 0.1):
        conn.execute("UPDATE sessions SET venue = ? WHERE rowid = ?",
                     (rng.choice([None, "typo"]), rowid))
    row = _pick(conn, rng, "SELECT rowid FROM venues")
    if row:
        conn.execute("DELETE FROM venues WHERE rowid = ?", row)


def _transfer_time(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute("UPDATE programmes SET min_transfer_minutes = ?", (rng.choice([60, 120, 600]),))


def _fixed_choices(conn: sqlite3.Connection, rng: random.Random) -> None:
    for rowid in _some(conn, rng, "registrations", 0.2):
        (file,) = conn.execute("SELECT file FROM registrations WHERE rowid = ?", (rowid,)).fetchone()
        ids = [i for (i,) in conn.execute("SELECT id FROM sessions WHERE file = ?", (file,))]
        chosen = rng.sample(ids, min(len(ids), rng.randint(1, 3))) + rng.choice([[], ["nowhere"]])
        conn.execute("UPDATE registrations SET sessions = ? WHERE rowid = ?",
                     (json.dumps(chosen), rowid))


def _people(conn: sqlite3.Connection, rng: random.Random) -> None:
    row = _pick(conn, rng, "SELECT a.rowid, b.email FROM registrations a JOIN registrations b "
                           "ON a.file = b.file AND a.rowid != b.rowid")
    if row:
        conn.execute("UPDATE registrations SET email = ? WHERE rowid = ?", (row[1], row[0]))
    for rowid in _some(conn, rng, "registrations", 0.1):
        conn.execute("UPDATE registrations SET status = ?, org_type = ?, "
                     "partner = (SELECT host FROM programmes p WHERE p.file = registrations.file) "
                     "WHERE rowid = ?",
                     (rng.choice(["registered", "withdrawn", "waitlisted"]),
                      rng.choice(["public", "sme", "other"]), rowid))


def _cancel(conn: sqlite3.Connection, rng: random.Random) -> None:
    for rowid in _some(conn, rng, "programmes", 0.2):
        conn.execute("UPDATE programmes SET status = 'cancelled' WHERE rowid = ?", (rowid,))


def _repeat_activity(conn: sqlite3.Connection, rng: random.Random) -> None:
    columns = [row[1] for row in conn.execute("PRAGMA table_info(activities)")]
    positioned = "position" in columns  # a store of schema 5 and later numbers its rows
    conn.execute(f"INSERT INTO activities (kind, partner, date, title, url, file, line"
                 f"{', position' if positioned else ''}) SELECT kind, partner, date, upper(title), "
                 f"url, file, line + 1{', position + 100000' if positioned else ''} "
                 f"FROM activities WHERE rowid % 7 = 0")


EDITS: dict[str, Callable[[sqlite3.Connection, random.Random], None]] = {
    "repeat session id": _repeat_session_id, "repeat venue id": _repeat_venue_id,
    "lower capacities": _lower_capacities, "rename partner": _rename_partner,
    "remove partnership": _remove_partnership, "move times": _move_times,
    "time in a gap": _time_in_gap, "remove venues": _remove_venues,
    "transfer time": _transfer_time, "fixed choices": _fixed_choices, "people": _people,
    "cancel": _cancel, "repeat activity": _repeat_activity,
}


# -- what differs, and why ----------------------------------------------------------------


def _files_with_repeated_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {display for (display,) in conn.execute(
            "SELECT f.display FROM files f WHERE f.path IN ("
            "SELECT file FROM sessions GROUP BY file, id HAVING count(*) > 1 UNION "
            "SELECT file FROM venues GROUP BY file, id HAVING count(*) > 1)")}
    finally:
        conn.close()


def _defined_venues(db: Path) -> dict[str, set[str]]:
    conn = sqlite3.connect(db)
    try:
        out: dict[str, set[str]] = {}
        for display, venue in conn.execute(
                "SELECT f.display, v.id FROM files f LEFT JOIN venues v ON v.file = f.path"):
            out.setdefault(display, set()).update([venue] if venue else [])
        return out
    finally:
        conn.close()


HINT = " (partners: none: load the partnership file)"
TRANSFER = re.compile(r"^`[^`]+` at `([^`]+)` ends .* `[^`]+` at `([^`]+)` starts ")


def why(f: Key, new: bool, first: set[Key] | None, venues: dict[str, set[str]],
        other: set[Key]) -> str | None:
    rule, message, file = f[0], str(f[2]), f[3]
    if first is not None and (f in first) == new:  # what the old rules give, taking the first
        return "first-of-repeated-id"
    if rule == "tight-transfer" and new and "has no venue" in message:
        return "no-venue"
    if rule == "tight-transfer" and not new:
        match = TRANSFER.match(message)
        if match and not {match[1], match[2]} <= venues.get(str(file), set()):
            return "undefined-venue-transfer"
    if rule == "unknown-reference":
        if new and message.startswith("no partner is defined"):
            return "partnership-hint-once"
        twin = (*f[:2], message.replace(HINT, ""), *f[3:]) if not new else None
        if twin is not None and HINT in message and twin in other:
            return "partnership-hint-once"
        if new and any(o[2] == message + HINT and o[3:] == f[3:] for o in other):
            return "partnership-hint-once"
    return None


def compare(stores: int, seed: int, old: ModuleType, old_first: ModuleType) -> int:
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="rules-equivalence-"))
    try:
        bases = base_stores(work)
        allowed: Counter[str] = Counter()
        unexplained: list[tuple[int, list[str], str, Key]] = []
        compared = findings_seen = same = 0
        for n in range(stores):
            db = work / f"store-{n}.db"
            shutil.copyfile(bases[n % len(bases)], db)
            conn = sqlite3.connect(db)
            edits = damage(conn, rng)
            conn.commit()
            conn.close()
            before, after = findings(old.validate, db), findings(validate, db)
            compared += 1
            findings_seen += len(before)
            if before == after:
                same += 1
                db.unlink()
                continue
            venues = _defined_venues(db)
            first = set(findings(old_first.validate, db)) if _files_with_repeated_ids(db) else None
            old_only, new_only = set(before) - set(after), set(after) - set(before)
            for side, new, other in ((old_only, False, new_only), (new_only, True, old_only)):
                for f in sorted(side, key=repr):
                    reason = why(f, new, first, venues, other)
                    if reason is None:
                        unexplained.append((n, edits, "new" if new else "old", f))
                    else:
                        allowed[reason] += 1
            db.unlink()
        print(f"{compared} damaged stores compared ({findings_seen:,} findings before), {same} with "
              f"the same findings; "
              f"{sum(allowed.values())} allowed differences, {len(unexplained)} unexplained")
        for reason, count in sorted(allowed.items()):
            print(f"  {count:5} {reason}: {ALLOWED[reason]}")
        for n, edits, which, f in unexplained[:20]:
            print(f"  store {n} ({', '.join(edits)}), only {which}: {f}")
        return 1 if unexplained else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timing(db: Path, old: ModuleType, repeat: int) -> int:
    conn = sqlite3.connect(db, isolation_level=None)
    best = {"old": float("inf"), "new": float("inf")}
    counts = {}
    for _ in range(repeat):
        for name, check in (("old", old.validate), ("new", validate)):
            with read_snapshot(conn):
                t0 = time.process_time()
                counts[name] = len(check(conn))
                best[name] = min(best[name], time.process_time() - t0)
    conn.close()
    print(f"validate (rules only, CPU, best of {repeat}): old {best['old']:.2f} s, "
          f"new {best['new']:.2f} s, new/old {best['new'] / best['old']:.2f}x; "
          f"findings {counts['old']} / {counts['new']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--old", type=Path, default=ROOT / "bench" / "_old_checks.py")
    parser.add_argument("--time", type=Path, help="a loaded store: time old and new rules on it")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    old = old_rules(args.old)
    if args.time is not None:
        return timing(args.time, old, args.repeat)
    return compare(args.stores, args.seed, old, old_rules(args.old, first=True))


if __name__ == "__main__":
    sys.exit(main())
