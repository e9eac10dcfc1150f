"""Run on demand (``make bench`` / ``python -m benchmarks [NAME …] [--json]``); not part of the
test suite. Each benchmark runs alone by name:

* ``resume``: resume -> next gate, median / p95 / max, with ``--open`` reviews open;
* ``simulate``: wall time of ``reviews simulate --regime scr --json``;
* ``start``: ``--reviews`` reviews started at once to their first gate: time, peak memory of
  the whole stack, processes held afterwards;
* ``sweep``: the daily sweep over 10,000 open obligations;
* ``delivery``: 1,000 emails to a local SMTP server.
* ``cli``: start-up of the commands that do not talk to Prefect (median and max of 5 runs each,
  with the heavy libraries each one imported: Prefect, Apprise, WeasyPrint, matplotlib).

``--json`` prints every result and the five headline figures (``figures``) machine-readably.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.store import bench_delivery, bench_sweep

REPO = Path(__file__).resolve().parent.parent


def bench_simulate(_args: argparse.Namespace, _workdir: Path) -> dict[str, object]:
    started, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        # ``reviews simulate``, from this checkout's code
        [sys.executable, "-m", "case_reviews", "simulate", "--regime", "scr", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    report = json.loads(done.stdout)
    return {
        "wall_seconds": round(wall, 1),
        # the simulation and its Prefect server: steadier than wall time on a shared machine
        "cpu_seconds": round(cpu, 1),
        "elapsed_seconds": report.get("elapsed_seconds"),
        "gates": report.get("gates"),
        "emails_sent": report.get("emails_sent"),
    }


#: Commands that never talk to Prefect, on a migrated empty store.
CLI_COMMANDS = (
    ("deadlines", "--regime", "lcspr", "--event", "incident_known=2026-03-02"),
    ("status", "--no-runs", "--json"),
    ("referral", "show", "NONE-0000-000"),
    ("--help",),
)
HEAVY = ("prefect", "apprise", "weasyprint", "matplotlib", "docx", "pypdf")


def bench_cli(_args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    env = os.environ | {"REVIEWS_DATABASE_URL": f"sqlite:///{workdir / 'r.db'}"}
    command = [sys.executable, "-m", "case_reviews"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    found: dict[str, object] = {}
    for args in CLI_COMMANDS:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([*command, *args], env=env, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        probe = subprocess.run(
            [*command, *args],
            env=env | {"PYTHONPROFILEIMPORTTIME": "1"},
            capture_output=True,
            text=True,
            check=False,
        )
        loaded = {line.rsplit("|", 1)[-1].strip() for line in probe.stderr.splitlines()}
        times.sort()
        found[" ".join(args)] = {
            "median_seconds": round(times[len(times) // 2], 2),
            "max_seconds": round(times[-1], 2),
            "heavy_imports": [name for name in HEAVY if name in loaded],
        }
    return found


def bench_start(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    from benchmarks.stack import running_stack, start_reviews

    with running_stack(workdir, args.runner_limit, args.prefect_postgres) as stack:
        _runs, result = start_reviews(stack, args.reviews)
    return result | {"prefect_database": _prefect_database(args)}


def bench_resume(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    from benchmarks.stack import resume_latency, running_stack, start_reviews

    with running_stack(workdir, args.runner_limit, args.prefect_postgres) as stack:
        runs, opened = start_reviews(stack, args.open)
        result = resume_latency(stack, runs, args.resumes)
    return result | {"opening": opened, "prefect_database": _prefect_database(args)}


def _prefect_database(args: argparse.Namespace) -> str:
    return "postgresql" if args.prefect_postgres else "sqlite"


BENCHMARKS: dict[str, Callable[[argparse.Namespace, Path], dict[str, object]]] = {
    "resume": bench_resume,
    "simulate": bench_simulate,
    "start": bench_start,
    "sweep": lambda _args, workdir: bench_sweep(workdir),
    "delivery": lambda _args, workdir: bench_delivery(workdir),
    "cli": bench_cli,
}


def figures(results: dict[str, Any]) -> dict[str, object]:
    """The five headline figures (issue 12, item 7), where measured."""
    found: dict[str, object] = {}
    if "resume" in results:
        found["resume_p95_seconds"] = results["resume"]["p95_seconds"]
    if "simulate" in results:
        found["simulate_scr_seconds"] = results["simulate"]["wall_seconds"]
    if "start" in results:
        found["start_seconds"] = results["start"]["all_at_first_gate_seconds"]
        found["start_peak_gib"] = results["start"]["peak_stack_rss_gib"]
        found["start_processes_held_after"] = results["start"]["processes_held_after"]
    if "sweep" in results:
        found["sweep_seconds"] = results["sweep"]["daily_sweep"]["select_render_queue_seconds"]
    if "delivery" in results:
        found["delivery_seconds"] = results["delivery"]["delivery_seconds"]
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--reviews", type=int, default=1000, help="start: reviews to start")
    parser.add_argument("--open", type=int, default=200, help="resume: reviews open")
    parser.add_argument("--resumes", type=int, default=20, help="resume: resumes timed")
    parser.add_argument("--runner-limit", type=int, default=4, help="runs at once (serve)")
    parser.add_argument(
        "--prefect-postgres",
        metavar="ADMIN_URL",
        help="start, resume: run Prefect's server on a fresh PostgreSQL database created "
        "under this admin URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test), as in "
        "production; default: SQLite, as reviews up",
    )
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    if unknown := [n for n in names if n not in BENCHMARKS]:
        parser.error(f"unknown benchmark {unknown[0]!r}: choose from {', '.join(BENCHMARKS)}")
    results: dict[str, Any] = {}
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            if not args.json:
                print(f"running {name} …", file=sys.stderr, flush=True)
            results[name] = BENCHMARKS[name](args, Path(tmp))
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "date": date.today().isoformat(),
        "figures": figures(results),
        **results,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
