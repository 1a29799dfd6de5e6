"""``python -m tests.benchmarks`` (``make bench``): run every benchmark and write the figures.

Order: B1 in the fresh bench database (shared schema only), then B2 in the database recreated
empty (it ends with exactly the 332 tenants), then the web server on that national-scale
database. A benchmark that crashes is reported and the next one still runs; the exit code is
non-zero only then (a missed target is a figure, not a failure).

``--only NAME`` (repeatable) runs just those benchmarks, in the same order, and writes their
figures to var/bench/only.json instead of docs/benchmarks.md and var/bench/latest.json (a
partial run never replaces the page). ``KENTRA_BENCH_DATABASE`` names the scratch database.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks import (
    auth,
    compliance,
    idp,
    national,
    paging,
    provisioning,
    throughput,
    web,
)
from tests.benchmarks.database import BENCH_DATABASE, BenchDatabase
from tests.benchmarks.report import (
    RunInfo,
    machine_info,
    print_summary,
    write_json,
    write_markdown,
)
from tests.benchmarks.results import BenchOutcome, elapsed_s

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JSON_PATH = PROJECT_ROOT / "var" / "bench" / "latest.json"
ONLY_JSON_PATH = PROJECT_ROOT / "var" / "bench" / "only.json"
MARKDOWN_PATH = PROJECT_ROOT / "docs" / "benchmarks.md"
GUNICORN_LOG = PROJECT_ROOT / "var" / "bench" / "gunicorn.log"

Benchmark = Callable[[BenchDatabase, BenchOutcome], None]

# In this order: name (--only), title, the benchmark.
BENCHMARKS: list[tuple[str, str, Benchmark]] = [
    ("b1", "B1 provisioning", provisioning.run),
    ("b2", "B2 national scale (332 municipalities)", national.run),
    ("web", "Web process RSS", lambda d, o: web.run(d, o, GUNICORN_LOG)),
    ("b3", "B3 authentication cost", auth.run),
    ("b4", "B4 compliance at national scale", compliance.run),
    ("keycloak", "Keycloak: tokens, start, realm import", idp.run),
    ("b5", "B5 tenant read throughput", throughput.run),
    ("b6", "B6 keyset paging of a 100,000-row list", paging.run),
]


def run_one(name: str, title: str, benchmark: Benchmark, db: BenchDatabase) -> BenchOutcome:
    outcome = BenchOutcome(name=name, title=title)
    print(f"running {title} ...", flush=True)
    started = time.perf_counter()
    try:
        benchmark(db, outcome)
    except Exception as exc:
        outcome.error = traceback.format_exc()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        outcome.error_summary = f"{type(exc).__name__}: {first_line}"
        print(outcome.error, flush=True)
    outcome.duration_s = elapsed_s(started)
    return outcome


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help=f"leave the {BENCH_DATABASE} database (332 tenants) for inspection",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[name for name, _title, _benchmark in BENCHMARKS],
        help="run only this benchmark (repeatable); the figures go to var/bench/only.json, "
        "docs/benchmarks.md is left as it is",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    started = time.perf_counter()
    generated_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    db = BenchDatabase.create()
    url = db.url.render_as_string(hide_password=True)
    print(f"bench database: {url} ({'embedded' if db.embedded else 'configured'} server)")
    db.upgrade_shared()
    machine = machine_info(db.server_version(), db.embedded)

    outcomes = [
        run_one(name, title, benchmark, db)
        for name, title, benchmark in BENCHMARKS
        if not args.only or name in args.only
    ]

    if args.keep_database:
        after = f"kept ({url})"
        db.engine.dispose()
    else:
        db.drop()
        after = f"dropped ({BENCH_DATABASE})"
    info = RunInfo(
        generated_at=generated_at,
        machine=machine,
        database=url,
        database_after_run=after,
        duration_s=elapsed_s(started),
    )
    print_summary(outcomes, info)
    if args.only:
        write_json(ONLY_JSON_PATH, outcomes, info)
        print(f"wrote {ONLY_JSON_PATH.relative_to(PROJECT_ROOT)} (a partial run)")
    else:
        write_json(JSON_PATH, outcomes, info)
        write_markdown(MARKDOWN_PATH, outcomes, info)
        print(
            f"wrote {JSON_PATH.relative_to(PROJECT_ROOT)} and "
            f"{MARKDOWN_PATH.relative_to(PROJECT_ROOT)}"
        )
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
