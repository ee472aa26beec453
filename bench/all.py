"""Run every benchmark of bench/ and write docs/PERFORMANCE.md from their sections.

    .venv/bin/python bench/all.py                 # every bench, 3 repeats each, then docs/PERFORMANCE.md
    .venv/bin/python bench/all.py --only booking  # one of them (the others' sections are left as they were)
    .venv/bin/python bench/all.py --write --note "..."  # the page again from the sections, with a new note

Each bench is its own process (`python bench/<name>.py --repeats N --markdown var/bench/<name>.md`): it makes its
own PostgreSQL databases, broker folders and servers and removes them when it ends. Run it on an otherwise idle
machine: the figures are what this machine does, and each is printed beside the anchor measured in the same run.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ROOT / "var" / "bench"
OUTPUT = ROOT / "docs" / "PERFORMANCE.md"
# In the order of the targets: the booking path, slot search and the sweeps, delivery, the calendar views.
BENCHES = ("booking", "slots", "sweeps", "sweeps-backfill", "sweeps-backfill-100k", "delivery", "day_view", "backfill")
# Options beyond --repeats and --markdown: the booking bench also stops its Redis for a minute under load; the
# sweeps run the normal day at 20,000 and 100,000 patients and the back-fill day (every window open at once, a
# day after an import) at 20,000, three times, and at 100,000 once (about 8 minutes a run here).
EXTRA = {
    "booking": ["--redis-outage", "60"],
    "sweeps": ["--patients", "20000", "100000", "--scenarios", "normal"],
    "sweeps-backfill": ["--patients", "20000", "--scenarios", "backfill"],
    "sweeps-backfill-100k": ["--patients", "100000", "--scenarios", "backfill"],
}
SCRIPTS = {"sweeps-backfill": "sweeps", "sweeps-backfill-100k": "sweeps"}
REPEATS = {"sweeps-backfill-100k": 1}  # the section says so
HEADER = """# Performance

What CycleDesk does on one machine, measured by `bench/` (`.venv/bin/python bench/all.py`, about {minutes} minutes
here) and written by it: do not edit the figures by hand. Every figure is the median of {repeats} repeats unless its
section says otherwise; where a figure has an anchor (what PostgreSQL or the SMTP sink does on its own in the same
minutes) the anchor and the ratio are beside it.

The rules the figures check (DESIGN.md §4, §7): queries do not grow with the rows (a sweep costs a fixed number per
chunk, a page a fixed number per page: pinned in the tests with `django_assert_num_queries`), memory stays flat as
the clinic grows, time grows with the work done and not worse, and nothing is looser for being faster (one booking per
slot, exactly one delivery per notification, a job run twice does nothing the second time).

Measured {when} at commit `{commit}` on {machine}.{note}
"""


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("\n")[0].split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    postgres = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cores} cores{memory}, Python {platform.python_version()}, {postgres or 'PostgreSQL'} on loopback"


def commit() -> str:
    out = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=BENCHES, default=list(BENCHES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--note", default="", help="what else the machine was doing, printed under the header")
    parser.add_argument("--write", action="store_true", help="run nothing: write the page from the last sections")
    args = parser.parse_args()
    if args.write:
        args.only = []
    SECTIONS.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.only:
        section = SECTIONS / f"{name}.md"
        script = str(ROOT / "bench" / f"{SCRIPTS.get(name, name)}.py")
        repeats = min(args.repeats, REPEATS.get(name, args.repeats))
        command = [sys.executable, script, "--repeats", str(repeats), *EXTRA.get(name, [])]
        print(f"# {' '.join(command)}", file=sys.stderr, flush=True)
        began = time.monotonic()
        if subprocess.run([*command, "--markdown", str(section)], cwd=ROOT).returncode != 0:
            failed.append(name)
        (SECTIONS / f"{name}.seconds").write_text(f"{time.monotonic() - began:.0f}\n")
    # The whole of bench/ as last measured here, whether this run did all of it or --only some.
    seconds = sum(float(p.read_text()) for p in SECTIONS.glob("*.seconds") if p.stem in BENCHES)
    minutes = max(1, round(seconds / 60))
    body = [
        HEADER.format(
            minutes=minutes,
            repeats=args.repeats,
            when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            commit=commit(),
            machine=machine(),
            note=f" {args.note}" if args.note else "",
        )
    ]
    for name in BENCHES:
        section = SECTIONS / f"{name}.md"
        if section.exists():
            body.append(section.read_text().strip() + "\n")
        else:
            body.append(f"## {name}\n\nNot measured: `bench/{SCRIPTS.get(name, name)}.py` has not run here.\n")
    OUTPUT.write_text("\n".join(body))
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
