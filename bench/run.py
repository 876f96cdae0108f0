"""The cxc benchmarks: each command against a floor measured in the same run.

    python bench/run.py [--scale eu|small] [--repeat N] [--no-fail] [--keep]

Machines are noisy, so every figure is compared with a floor measured on the
same machine in the same run, and the best of ``--repeat`` runs is kept
(default: 3 at small scale; 1 at EU scale, where a run takes minutes).
Every command runs as its own subprocess, under a small Python wrapper that
times it and takes its peak memory (``ru_maxrss``) and CPU time from
``os.wait4``.

===========  ===================================  ==================================  ========
benchmark    cxc                                  floor                               target
===========  ===================================  ==================================  ========
load         ``cxc load DATA`` into a fresh store  CSafeLoader + executemany, one      <= 1.5x
                                                   transaction, similar tables
validate     ``cxc validate --format json``        --                                  < 2 s
plan         ``cxc plan --format json``            --                                  (report)
export       ``cxc export --out TMP``, every        icalendar: the same number of       <= 1.5x
             programme's calendars and pages       events a calendar, to_ical, write
start-up     ``cxc --help``, best of 10            ``sqlite-utils --help``             <= 1.0x
nothing      ``cxc plan DIR`` + ``cxc export`` again  the full run of both on a fresh     <= 5 %
changed      on the untouched folder               store (its first export)
one          the same after one session of one     the same full run                   <= 5 %
programme    programme moved 30 minutes earlier
changed      (and no other programme's file rewritten, in either)
memory       peak RSS of each cxc command          --                                  < 300 MB
===========  ===================================  ==================================  ========

The data set comes from ``bench/generate.py`` (seeded) and is kept under
``bench/data/<scale>/``; it is generated again when its parameters change.
Exit 1 when a target is missed, unless ``--no-fail``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
BIN = Path(sys.executable).parent
SCALES = {"eu": (1000, 50_000), "small": (20, 1_000)}
DEFAULT_REPEAT = {"eu": 1, "small": 3}
STARTUP_REPEAT = 10
SOURCE_DATE_EPOCH = "1700000000"

LOAD_TARGET = 1.5
EXPORT_TARGET = 1.5
STARTUP_TARGET = 1.0
VALIDATE_TARGET_S = 2.0
MEMORY_TARGET_MB = 300.0


# -- measuring a subprocess ----------------------------------------------------------


@dataclass
class Run:
    seconds: float
    cpu: float
    """User + system CPU seconds of the child (and what it waited for)."""
    peak_mb: float
    code: int
    stderr: str


@dataclass
class Best:
    """The best (fastest) of several runs, and the highest peak memory among them."""

    runs: list[Run] = field(default_factory=list)

    def add(self, run: Run) -> Run:
        self.runs.append(run)
        return run

    @property
    def seconds(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float:
        return min(r.cpu for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(r.peak_mb for r in self.runs)

    def spread(self) -> str:
        if len(self.runs) < 2:
            return ""
        return " (runs: " + ", ".join(f"{r.seconds:.2f}" for r in self.runs) + " s)"


# The command runs under this small wrapper, which times it and reads its rusage with
# os.wait4. A child forked straight from this (larger) runner would report the runner's
# RSS as its own peak: Linux keeps the pre-exec high-water mark in ru_maxrss.
WRAPPER = """
import json, os, subprocess, sys, time
report, stdout, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(stdout, "wb") as out:
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=out)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
child.returncode = os.waitstatus_to_exitcode(status)
with open(report, "w") as f:
    json.dump({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
               "maxrss_kb": usage.ru_maxrss, "code": child.returncode}, f)
"""


def measure(cmd: list[str], *, stdout: Path | None = None, env: dict[str, str] | None = None,
            ok: tuple[int, ...] = (0,)) -> Run:
    """Run ``cmd``: wall time around it, CPU and peak RSS from the kernel's accounting."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as err:
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-c", WRAPPER, str(report), str(stdout or os.devnull),
                        *cmd], stderr=err, env=env, check=False)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        if not report.exists():
            sys.exit(f"bench: the wrapper around {' '.join(cmd)} failed:\n{text[-2000:]}")
        got = json.loads(report.read_text())
    run = Run(got["seconds"], got["cpu"], got["maxrss_kb"] / 1024, got["code"], text)
    if run.code not in ok:
        sys.exit(f"bench: {' '.join(cmd)} exited {run.code}:\n{text[-2000:]}")
    return run


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"bench: `{name}` not found beside {sys.executable} nor on PATH")
    return found


# -- the data set --------------------------------------------------------------------


def generator_version() -> str:
    return hashlib.sha256((BENCH / "generate.py").read_bytes()).hexdigest()[:12]


def ensure_data(folder: Path, programmes: int, registrations: int, seed: int,
                regenerate: bool) -> dict[str, Any]:
    manifest_path = folder / "MANIFEST.json"
    wanted = {"programmes": programmes, "registrations": registrations, "seed": seed,
              "generator": generator_version()}
    if manifest_path.exists() and not regenerate:
        manifest = json.loads(manifest_path.read_text())
        if all(manifest.get(k) == v for k, v in wanted.items()):
            print(f"data: {folder} (cached; {manifest['bytes'] / 1e6:.1f} MB)")
            return dict(manifest)
    print(f"data: generating {programmes:,} programmes, {registrations:,} registrations "
          f"(seed {seed}) into {folder} ...", flush=True)
    subprocess.run([sys.executable, str(BENCH / "generate.py"), "--out", str(folder),
                    "--programmes", str(programmes), "--registrations", str(registrations),
                    "--seed", str(seed)], check=True)
    return dict(json.loads(manifest_path.read_text()))


# -- floors (run as subprocesses of this script) ------------------------------------------

FLOOR_SCHEMA = """
CREATE TABLE programmes (id TEXT, kind TEXT, title TEXT, host TEXT, city TEXT, country TEXT,
    timezone TEXT, start TEXT, "end" TEXT, status TEXT, capacity INTEGER, themes TEXT,
    min_transfer_minutes INTEGER, file TEXT, line INTEGER);
CREATE INDEX programmes_id ON programmes(id);
CREATE TABLE venues (programme TEXT, id TEXT, name TEXT, address TEXT, capacity INTEGER,
    lat REAL, lon REAL, file TEXT, line INTEGER);
CREATE INDEX venues_file ON venues(file, id);
CREATE TABLE sessions (programme TEXT, id TEXT, title TEXT, kind TEXT, venue TEXT,
    start_local TEXT, start_tz TEXT, end_local TEXT, end_tz TEXT, slot TEXT,
    capacity INTEGER, themes TEXT, organisations TEXT, description TEXT, url TEXT, file TEXT,
    line INTEGER);
CREATE INDEX sessions_file ON sessions(file, id);
CREATE TABLE registrations (programme TEXT, email TEXT, name TEXT, partner TEXT,
    organisation TEXT, org_type TEXT, country TEXT, interests TEXT, sessions TEXT,
    attended INTEGER, position INTEGER, file TEXT, line INTEGER);
CREATE INDEX registrations_file ON registrations(file, email);
CREATE INDEX registrations_email ON registrations(email);
CREATE TABLE travel_legs (programme TEXT, email TEXT, position INTEGER, mode TEXT, ref TEXT,
    origin TEXT, destination TEXT, depart_local TEXT, depart_tz TEXT, arrive_local TEXT,
    arrive_tz TEXT, registration INTEGER, file TEXT, line INTEGER);
CREATE INDEX travel_legs_file ON travel_legs(file, registration);
CREATE TABLE stays (programme TEXT, email TEXT, name TEXT, address TEXT, check_in TEXT,
    check_out TEXT, registration INTEGER, file TEXT, line INTEGER);
CREATE INDEX stays_file ON stays(file, registration);
"""


def floor_load(data: Path, db: Path) -> None:
    """Parse every file with CSafeLoader; one row per programme, venue, session,
    registration, travel leg and stay, with executemany in one transaction."""
    import yaml

    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for path in sorted(p for p in data.rglob("*") if p.suffix in (".yaml", ".yml")):
        doc = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
        if "programme" not in doc:
            continue
        f = str(path)
        p = doc["programme"]
        pid, zone = p["id"], p["timezone"]
        rows["programmes"].append((
            pid, p["kind"], p["title"], p["host"], p.get("city"), p["country"], zone,
            str(p["start"]), str(p["end"]), p.get("status", "planned"), p.get("capacity"),
            json.dumps(p.get("themes", [])), p.get("min_transfer_minutes"), f, 0))
        for v in doc.get("venues") or ():
            geo = v.get("geo") or (None, None)
            rows["venues"].append((pid, v["id"], v["name"], v.get("address"),
                                   v.get("capacity"), geo[0], geo[1], f, 0))
        for s in doc.get("sessions") or ():
            tz = s.get("timezone", zone)
            rows["sessions"].append((
                pid, s["id"], s["title"], s.get("kind", "other"), s.get("venue"),
                str(s["start"]), tz, str(s["end"]), tz, s.get("slot"), s.get("capacity"),
                json.dumps(s.get("themes", [])), json.dumps(s.get("organisations", [])),
                s.get("description"), s.get("url"), f, 0))
        for position, r in enumerate(doc.get("participants") or ()):
            email = r["email"].lower()
            rows["registrations"].append((
                pid, email, r["name"], r["partner"], r.get("organisation"), r.get("org_type"),
                r.get("country"), json.dumps(r.get("interests", [])),
                json.dumps(r.get("sessions", [])), int(r.get("attended", True)), position, f, 0))
            for i, leg in enumerate(r.get("travel") or ()):
                rows["travel_legs"].append((
                    pid, email, i, leg["mode"], leg.get("ref"), leg["from"], leg["to"],
                    str(leg["depart"]), leg.get("depart_timezone", zone), str(leg["arrive"]),
                    leg.get("arrive_timezone", zone), position, f, 0))
            stay = r.get("stay")
            if stay:
                rows["stays"].append((pid, email, stay["name"], stay.get("address"),
                                      str(stay["check_in"]), str(stay["check_out"]), position,
                                      f, 0))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(FLOOR_SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    for table, table_rows in rows.items():
        marks = ", ".join("?" * len(table_rows[0]))
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})", table_rows)
    conn.execute("COMMIT")
    conn.close()


def floor_export(db: Path, out: Path, counts_path: Path) -> None:
    """icalendar directly: for each calendar cxc wrote, as many events (cycling through the
    programme's sessions, with their zones, titles, places, descriptions and the host as
    organiser), one VTIMEZONE a zone built once, to_ical, write the file."""
    from zoneinfo import ZoneInfo

    from icalendar import Calendar, Event, Timezone, vCalAddress, vText

    counts: dict[str, int] = json.loads(counts_path.read_text())
    conn = sqlite3.connect(db)
    places = {(p, v): ", ".join(x for x in (name, address) if x)
              for p, v, name, address in conn.execute(
                  "SELECT programme, id, name, address FROM venues")}
    sessions: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in conn.execute(
            "SELECT programme, id, title, start_local, start_tz, end_local, end_tz, venue, "
            "description FROM sessions ORDER BY programme, start_utc, id"):
        sessions[row[0]].append(row)
    titles = dict(conn.execute("SELECT id, title FROM programmes"))
    organizers = {
        pid: (f"{contact or name}, {name}", email) for pid, name, contact, email in conn.execute(
            "SELECT p.id, x.name, x.contact_name, x.contact_email FROM programmes p "
            "JOIN partners x ON x.id = p.host")}
    conn.close()
    stamp = datetime.fromtimestamp(int(SOURCE_DATE_EPOCH), UTC)
    zones: dict[str, ZoneInfo] = {}
    vtimezones: dict[str, Timezone] = {}
    made: set[Path] = set()

    def moment(wall: str, zone: str) -> datetime:
        tz = zones.get(zone)
        if tz is None:
            tz = zones[zone] = ZoneInfo(zone)
        return datetime.strptime(wall, "%Y-%m-%d %H:%M").replace(tzinfo=tz)

    for relative, n in sorted(counts.items()):
        pid = relative.split("/", 1)[0]
        pool = sessions.get(pid) or []
        chosen = [pool[i % len(pool)] for i in range(n)] if pool else []
        cal = Calendar()
        cal.add("prodid", "-//cxc bench//floor//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", titles.get(pid, pid))
        for zone in sorted({s[4] for s in chosen} | {s[6] for s in chosen}):
            if zone not in vtimezones:
                vtimezones[zone] = Timezone.from_tzinfo(
                    ZoneInfo(zone), tzid=zone, first_date=date(2021, 1, 1),
                    last_date=date(2029, 1, 1))
            cal.add_component(vtimezones[zone])
        for i, (_, sid, title, start, start_tz, end, end_tz, venue, text) in enumerate(chosen):
            event = Event()
            event.add("uid", f"{pid}.{sid}.{i}@floor.invalid")
            event.add("dtstamp", stamp)
            event.add("dtstart", moment(start, start_tz))
            event.add("dtend", moment(end, end_tz))
            event.add("sequence", 0)
            event.add("status", "CONFIRMED")
            event.add("summary", title)
            event.add("location", places.get((pid, venue), ""))
            event.add("description", text or title)
            if pid in organizers:
                who, email = organizers[pid]
                organizer = vCalAddress(f"mailto:{email}")
                organizer.params["CN"] = vText(who)
                event.add("organizer", organizer)
            event.add("transp", "OPAQUE")
            cal.add_component(event)
        target = out / relative
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(cal.to_ical())


def count_events(out: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Events in every .ics cxc wrote (by path relative to ``out``), and totals."""
    counts: dict[str, int] = {}
    totals = {"calendars": 0, "events": 0, "pages": 0, "bytes": 0}
    for path in out.rglob("*"):
        if not path.is_file():
            continue
        totals["bytes"] += path.stat().st_size
        if path.suffix == ".ics":
            n = path.read_bytes().count(b"BEGIN:VEVENT")
            counts[str(path.relative_to(out))] = n
            totals["calendars"] += 1
            totals["events"] += n
        elif path.suffix == ".html":
            totals["pages"] += 1
    return counts, totals


# -- the benchmarks ------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    figure: str
    floor: str
    ratio: str
    target: str
    passed: bool | None
    """None: reported, no target."""


def mb(value: float) -> str:
    return f"{value:,.0f} MB"


def secs(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def fresh_db(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def copy_db(src: Path, dst: Path) -> Path:
    fresh_db(dst)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()
    return dst


def export_sample(cxc: str, data: Path, work: Path, count: int, env: dict[str, str]) -> Path:
    """A store holding the partnership and every n-th programme file, loaded and planned."""
    files = sorted(p for p in (data / "programmes").rglob("*.yaml"))
    step = max(1, len(files) // count)
    folder = work / "export-data"
    remove(folder)
    (folder / "programmes").mkdir(parents=True)
    (folder / "partnership.yaml").symlink_to(data / "partnership.yaml")
    for path in files[::step][:count]:
        (folder / "programmes" / path.name).symlink_to(path)
    db = fresh_db(work / "export-base.db")
    measure([cxc, "--db", str(db), "plan", "--format", "json", str(folder)], env=env, ok=(0, 1))
    return db


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# -- incremental runs (issue 17): nothing changed, one programme changed ---------------------

INCREMENTAL_TARGET = 0.05
"""Each incremental `plan DIR` + `export` run: at most this share of the full run's wall time."""
SESSION_SHIFT_MINUTES = 30
_SESSION_TIME = re.compile(r"^(\s*)(start|end): (\d{4}-\d{2}-\d{2} \d{2}:\d{2})\s*$")


@dataclass(frozen=True)
class FileState:
    """What tells a rewritten file from one left alone: inode (export renames a new file into
    place), modification time, size and a digest of the bytes."""

    inode: int
    mtime_ns: int
    size: int
    digest: str


def folder_state(out: Path) -> dict[str, FileState]:
    """Every file under ``out`` but cxc's own folder (``.cxc``: its lock and temporary files)."""
    state: dict[str, FileState] = {}
    for path in out.rglob("*"):
        relative = path.relative_to(out)
        if relative.parts[0] == ".cxc" or not path.is_file():
            continue
        info = path.stat()
        state[relative.as_posix()] = FileState(
            info.st_ino, info.st_mtime_ns, info.st_size,
            hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest())
    return state


def changed_files(before: dict[str, FileState], after: dict[str, FileState]) -> list[str]:
    """Files written, added or removed between two states of a folder."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def shift_first_session(data: Path) -> tuple[Path, str, str]:
    """Move the first session of one programme file 30 minutes earlier, start and end: the
    gap to the next session only grows and everyone arrives the day before, so the data stays
    valid. Returns (file, programme id, what moved)."""
    import yaml

    files = sorted((data / "programmes").rglob("*.yaml"))
    path = files[len(files) // 2]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    doc = yaml.load("".join(lines), Loader=yaml.CSafeLoader)
    pid = doc["programme"]["id"]
    first = doc["sessions"][0]["id"]
    at = next(i for i, line in enumerate(lines) if line.strip() == f"- id: {first}")
    moved = []
    for i in range(at + 1, len(lines)):
        if lines[i].lstrip().startswith("- "):
            break
        match = _SESSION_TIME.match(lines[i])
        if match:
            indent, key, value = match.groups()
            old = datetime.strptime(value, "%Y-%m-%d %H:%M")
            new = old - timedelta(minutes=SESSION_SHIFT_MINUTES)
            lines[i] = f"{indent}{key}: {new:%Y-%m-%d %H:%M}\n"
            moved.append(f"{key} {old:%H:%M} -> {new:%H:%M}")
    if len(moved) != 2:
        sys.exit(f"bench: could not find the start and end of session {first} in {path}")
    path.write_text("".join(lines), encoding="utf-8")
    return path, pid, f"session {first}: {', '.join(moved)}"


def people_files(db: Path, pid: str) -> set[str]:
    """The file names (slugs) of the people registered for ``pid``."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT slug FROM person_slugs WHERE person IN (SELECT email FROM "
                            "registrations WHERE programme = ?)", (pid,)).fetchall()
    conn.close()
    return {slug for (slug,) in rows}


def allowed_for(pid: str, slugs: set[str]) -> Callable[[str], bool]:
    """Whether a changed file may change when programme ``pid`` changed: a file of its own
    folder, or a file of one of its people."""
    def allowed(path: str) -> bool:
        parts = path.split("/")
        return parts[0] == pid or (len(parts) == 3 and parts[1] == "participants"
                                   and parts[2].rsplit(".", 1)[0] in slugs)
    return allowed


_EXPORTED = re.compile(r"exported ([\d,]+) programmes?(?: \(([\d,]+) unchanged\))?")


def export_said(stderr: str) -> str:
    """What `cxc export` said it did: programmes exported and how many were left as they were."""
    match = _EXPORTED.search(stderr)
    if match is None:
        return "export said nothing of what it rebuilt"
    total = int(match.group(1).replace(",", ""))
    unchanged = int((match.group(2) or "0").replace(",", ""))
    return f"export rebuilt {total - unchanged:,} of {total:,} programmes"


@dataclass
class Step:
    plan: Run
    export: Run

    @property
    def seconds(self) -> float:
        return self.plan.seconds + self.export.seconds

    @property
    def cpu(self) -> float:
        return self.plan.cpu + self.export.cpu

    @property
    def peak_mb(self) -> float:
        return max(self.plan.peak_mb, self.export.peak_mb)


def plan_and_export(cxc: str, db: Path, data: Path, out: Path, work: Path,
                    env: dict[str, str]) -> Step:
    """`cxc plan DATA` then `cxc export --out OUT`, as a coordinator runs them."""
    plan = measure([cxc, "--db", str(db), "plan", str(data)], stdout=work / "plan.txt", env=env)
    export = measure([cxc, "--db", str(db), "export", "--out", str(out)], env=env)
    return Step(plan, export)


def run_incremental(cxc: str, data: Path, work: Path, env: dict[str, str],
                    rows: list[Row], memory: list[tuple[str, float]]) -> None:
    """The full run on a copy of the data, then the same commands on the untouched folder,
    then after one session of one programme moved; each against the full run."""
    folder = work / "incremental-data"
    remove(folder)
    shutil.copytree(data, folder, ignore=shutil.ignore_patterns("MANIFEST.json"))
    db, out = fresh_db(work / "incremental.db"), work / "incremental-out"
    remove(out)
    full = plan_and_export(cxc, db, folder, out, work, env)
    print(f"full:     plan DIR {secs(full.plan.seconds)} (cpu {full.plan.cpu:.1f} s) + export "
          f"{secs(full.export.seconds)} (cpu {full.export.cpu:.1f} s) = {secs(full.seconds)}; "
          f"{export_said(full.export.stderr)}; load average {os.getloadavg()[0]:.2f}",
          flush=True)
    rows.append(Row("plan DIR + export, full", secs(full.seconds), "-", "1.00", "(report)",
                    None))
    memory.append(("plan DIR, full", full.plan.peak_mb))

    def step(name: str, may_change: Callable[[str], bool], must_change: str | None) -> None:
        before = folder_state(out)
        run = plan_and_export(cxc, db, folder, out, work, env)
        after = folder_state(out)
        changed = changed_files(before, after)
        wrong = [p for p in changed if not may_change(p)]
        missing = must_change is not None and must_change not in changed
        ratio = run.seconds / full.seconds
        print(f"{name}: plan DIR {secs(run.plan.seconds)} (cpu {run.plan.cpu:.1f} s) + export "
              f"{secs(run.export.seconds)} (cpu {run.export.cpu:.1f} s) = {secs(run.seconds)}, "
              f"{ratio:.1%} of the full run (cpu {run.cpu / full.cpu:.1%}); "
              f"{export_said(run.export.stderr)}; {len(changed):,} of {len(after):,} files "
              f"changed, {len(wrong):,} that should not" + (f" (e.g. {', '.join(wrong[:3])})"
                                                            if wrong else "")
              + (f"; {must_change} was not rewritten" if missing else "")
              + f"; load average {os.getloadavg()[0]:.2f}", flush=True)
        rows.append(Row(name, secs(run.seconds), secs(full.seconds), f"{ratio:.3f}",
                        f"<= {INCREMENTAL_TARGET:.2f}, others untouched",
                        ratio <= INCREMENTAL_TARGET and not wrong and not missing))
        memory.append((f"{name}, export", run.export.peak_mb))

    step("nothing changed", lambda path: False, None)
    path, pid, what = shift_first_session(folder)
    print(f"one programme changed: {path.relative_to(folder)} ({pid}), {what}", flush=True)
    step("one programme changed", allowed_for(pid, people_files(db, pid)),
         f"{pid}/programme.ics")


def run_benchmarks(args: argparse.Namespace) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    programmes, registrations = SCALES[args.scale]
    if args.data is not None:  # a folder generate.py made, used as it is
        if not (args.data / "MANIFEST.json").exists():
            sys.exit(f"bench: {args.data} has no MANIFEST.json: make it with bench/generate.py")
        data, manifest = args.data, json.loads((args.data / "MANIFEST.json").read_text())
    else:
        data = DATA / args.scale
        manifest = ensure_data(data, programmes, registrations, args.seed, args.regenerate)
    repeat = args.repeat or DEFAULT_REPEAT[args.scale]
    cxc, sqlite_utils = tool("cxc"), tool("sqlite-utils")
    me = [sys.executable, str(Path(__file__).resolve())]
    work = Path(tempfile.mkdtemp(prefix=f"work-{args.scale}-", dir=DATA))
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    env.pop("CXC_DB", None)
    c = manifest["counts"]
    print(f"scale {args.scale}: {c['programmes']:,} programmes, {c['venues']:,} venues, "
          f"{c['sessions']:,} sessions, {c['registrations']:,} registrations "
          f"({c['people']:,} people), {c['travel_legs']:,} travel legs, {c['stays']:,} stays; "
          f"{manifest['files']:,} files, {manifest['bytes'] / 1e6:.1f} MB; best of {repeat}")
    print(f"machine: {os.cpu_count()} cpus, {cpu_model()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}; work folder {work}")
    rows: list[Row] = []
    memory: list[tuple[str, float]] = []
    db = work / "cxc.db"
    try:
        if args.incremental_only:
            run_incremental(cxc, data, work, env, rows, memory)
            return finish(rows, memory, args)

        # load --------------------------------------------------------------------------
        load, floor = Best(), Best()
        for _ in range(repeat):
            load.add(measure([cxc, "--db", str(fresh_db(db)), "load", str(data)], env=env))
            floor_db = fresh_db(work / "floor.db")
            floor.add(measure([*me, "_floor-load", str(data), str(floor_db)], env=env))
        fresh_db(work / "floor.db")
        ratio = load.seconds / floor.seconds
        print(f"load:     cxc {secs(load.seconds)} (cpu {load.cpu:.1f} s, {mb(load.peak_mb)})"
              f"{load.spread()}; floor {secs(floor.seconds)} (cpu {floor.cpu:.1f} s, "
              f"{mb(floor.peak_mb)}){floor.spread()}; ratio {ratio:.2f}x", flush=True)
        rows.append(Row("load", secs(load.seconds), secs(floor.seconds), f"{ratio:.2f}x",
                        f"<= {LOAD_TARGET}x", ratio <= LOAD_TARGET))
        memory.append(("load", load.peak_mb))

        # validate ------------------------------------------------------------------------
        validate = Best()
        report = work / "validate.json"
        for _ in range(repeat):
            validate.add(measure([cxc, "--db", str(db), "validate", "--format", "json"],
                                 stdout=report, env=env, ok=(0, 1)))
        found = json.loads(report.read_text())
        rules = sorted({f["rule"] for f in found["findings"]})
        print(f"validate: {secs(validate.seconds)} (cpu {validate.cpu:.1f} s, "
              f"{mb(validate.peak_mb)}){validate.spread()}; {found['errors']} errors, "
              f"{found['warnings']} warnings{': ' + ', '.join(rules) if rules else ''}",
              flush=True)
        rows.append(Row("validate", secs(validate.seconds), "-", "-",
                        f"< {VALIDATE_TARGET_S:g} s", validate.seconds < VALIDATE_TARGET_S))
        memory.append(("validate", validate.peak_mb))

        # plan ----------------------------------------------------------------------------
        plan = Best()
        for _ in range(repeat):
            plan.add(measure([cxc, "--db", str(db), "plan", "--format", "json"],
                             stdout=work / "plan.json", env=env, ok=(0, 1)))
        planned = json.loads((work / "plan.json").read_text())
        placed = sum(len(s["attendees"]) for p in planned["programmes"] for s in p["sessions"])
        print(f"plan:     {secs(plan.seconds)} (cpu {plan.cpu:.1f} s, {mb(plan.peak_mb)})"
              f"{plan.spread()}; {len(planned['programmes']):,} programmes, {placed:,} "
              f"session seats filled", flush=True)
        rows.append(Row("plan", secs(plan.seconds), "-", "-", "(report)", None))
        memory.append(("plan", plan.peak_mb))

        # export --------------------------------------------------------------------------
        sample = args.export_programmes
        base, label = db, "export"
        if sample and sample < c["programmes"]:
            base, label = export_sample(cxc, data, work, sample, env), \
                f"export ({sample:,} of {c['programmes']:,} programmes)"
        export, floor = Best(), Best()
        out, floor_out = work / "out", work / "floor-out"
        counts_path = work / "events.json"
        totals: dict[str, int] = {}
        for n in range(repeat):
            export_db = copy_db(base, work / "export.db")  # no export history: a first export
            remove(out)
            export.add(measure([cxc, "--db", str(export_db), "export", "--out", str(out)],
                               env=env))
            if n == 0:
                counts, totals = count_events(out)
                counts_path.write_text(json.dumps(counts))
            remove(out)
            remove(floor_out)
            floor.add(measure([*me, "_floor-export", str(base), str(floor_out),
                               str(counts_path)], env=env))
            remove(floor_out)
        ratio = export.seconds / floor.seconds
        print(f"{label}: cxc {secs(export.seconds)} (cpu {export.cpu:.1f} s, "
              f"{mb(export.peak_mb)}){export.spread()}; floor {secs(floor.seconds)} "
              f"(cpu {floor.cpu:.1f} s, {mb(floor.peak_mb)}){floor.spread()}; ratio "
              f"{ratio:.2f}x; {totals['calendars']:,} calendars, {totals['events']:,} events, "
              f"{totals['pages']:,} pages, {totals['bytes'] / 1e6:.0f} MB", flush=True)
        rows.append(Row(label, secs(export.seconds), secs(floor.seconds), f"{ratio:.2f}x",
                        f"<= {EXPORT_TARGET}x", ratio <= EXPORT_TARGET))
        memory.append((label, export.peak_mb))

        # incremental: plan DIR + export, full, then nothing changed, one programme changed
        run_incremental(cxc, data, work, env, rows, memory)

        # start-up ------------------------------------------------------------------------
        mine, theirs = Best(), Best()
        for _ in range(STARTUP_REPEAT):
            mine.add(measure([cxc, "--help"], env=env))
            theirs.add(measure([sqlite_utils, "--help"], env=env))
        ratio = mine.seconds / theirs.seconds
        print(f"start-up: cxc --help {mine.seconds * 1000:.0f} ms ({mb(mine.peak_mb)}); "
              f"sqlite-utils --help {theirs.seconds * 1000:.0f} ms ({mb(theirs.peak_mb)}); "
              f"best of {STARTUP_REPEAT}; ratio {ratio:.2f}x", flush=True)
        rows.append(Row("start-up (--help)", f"{mine.seconds * 1000:.0f} ms",
                        f"{theirs.seconds * 1000:.0f} ms", f"{ratio:.2f}x",
                        f"<= {STARTUP_TARGET}x", ratio <= STARTUP_TARGET))
        memory.append(("--help", mine.peak_mb))

        if args.plan_solver:
            run = measure([sys.executable, str(BENCH / "bench_plan.py")], env=env, ok=(0, 1),
                          stdout=work / "bench_plan.txt")
            print("bench_plan.py:\n" + (work / "bench_plan.txt").read_text().rstrip())
            rows.append(Row("planner = milp (bench_plan.py)", secs(run.seconds), "-", "-",
                            "objectives equal", run.code == 0))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            remove(work)

    return finish(rows, memory, args)


def finish(rows: list[Row], memory: list[tuple[str, float]], args: argparse.Namespace) -> int:
    """Print the table (every figure, then each command's peak memory); 1 if a target failed."""
    for name, peak in memory:
        rows.append(Row(f"peak memory: {name}", mb(peak), "-", "-",
                        f"< {MEMORY_TARGET_MB:.0f} MB", peak < MEMORY_TARGET_MB))
    print_table(rows)
    failed = [r.name for r in rows if r.passed is False]
    if failed:
        print(f"\n{len(failed)} target{'s' * (len(failed) != 1)} missed: {', '.join(failed)}")
    return 1 if failed and not args.no_fail else 0


def print_table(rows: list[Row]) -> None:
    head = ("benchmark", "figure", "floor", "ratio", "target", "result")
    table = [head] + [(r.name, r.figure, r.floor, r.ratio, r.target,
                       "-" if r.passed is None else ("PASS" if r.passed else "FAIL"))
                      for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print()
    for n, row in enumerate(table):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=False))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def main(argv: list[str]) -> int:
    if argv[:1] == ["_floor-load"]:
        floor_load(Path(argv[1]), Path(argv[2]))
        return 0
    if argv[:1] == ["_floor-export"]:
        floor_export(Path(argv[1]), Path(argv[2]), Path(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="eu",
                        help="eu: 1,000 programmes, 50,000 registrations (default); "
                             "small: 20 programmes, 1,000 registrations")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--data", type=Path,
                        help="a folder bench/generate.py made, used as it is (no --scale data)")
    parser.add_argument("--repeat", type=int, help="runs of each timed command (best kept)")
    parser.add_argument("--export-programmes", type=int, metavar="N",
                        help="export a sample of N programmes, every n-th file, loaded and "
                             "planned into a store of their own (default: all)")
    parser.add_argument("--regenerate", action="store_true", help="generate the data again")
    parser.add_argument("--plan-solver", action="store_true",
                        help="also run bench/bench_plan.py (needs scipy, from the test extras)")
    parser.add_argument("--incremental-only", action="store_true",
                        help="only the full, nothing-changed and one-programme-changed runs "
                             "of `cxc plan DIR` + `cxc export`")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even if a target fails")
    return run_benchmarks(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
