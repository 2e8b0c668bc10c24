"""Benchmark: the churn pipeline at 10k, 100k and 1M customers, per asset and end to end.

    .venv/bin/python bench/scale.py [--sizes 10000 100000 1000000] [--data DIR]

For each size the project's own generator (``govern generate --customers N``: about five
transactions per customer, with the generator's dirt) writes the landing files once into
``--data`` (default: a folder under the system temp dir), and a fresh child process runs the
whole churn job on them (``govern run --dataset churn --force`` in-process, its own
``GOVERN_HOME``), so each size has its own peak memory. The child reports:

- wall time and peak memory per asset (steps run one after another in-process; memory is
  sampled every 0.1 s by this parent process and attributed to the step running at the time),
  and end to end. Memory is the child's and its forked workers' (redaction runs on both cores)
  together: the sum of their PSS, which counts the pages a worker shares with its parent once;
  end to end, the child's own peak RSS (``VmHWM``) if that is higher. The sampler runs in
  the parent, not beside the run: a thread in the run's own process is starved of the GIL
  while pandas or Arrow holds it, and can miss the highest points;
- time per row (per customer line, and per input line of both files);
- a bare DuckDB ``read_csv`` of the same two files (all VARCHAR, rejects stored), timed in the
  same process before the run, against the two ingest assets.

Targets (issue 11): 100k customers under 2 minutes, 1M under 15 minutes and 4 GiB, time per
row flat within 30% from 100k to 1M, ingest at most 2x the bare read.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOURCES = ("customers", "transactions")
_SAMPLE_SECONDS = 0.1


def _descendants(pid: int) -> list[int]:
    """``pid``'s child processes and theirs, from /proc (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def _pss_mb(pid: int) -> float:
    """A process's proportional set size: its private pages and its share of pages it shares
    (a forked worker shares the parent's models), so the sum over processes counts each page
    once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass  # the process ended between listing and reading
    return 0.0


def _rss_mb(pid: int) -> float:
    """Memory of process ``pid`` and the workers it forks (redaction and NER on both cores),
    now: the sum of their PSS."""
    return sum(_pss_mb(p) for p in [pid, *_descendants(pid)])


class RssSampler(threading.Thread):
    """Samples another process's memory in the background: (wall time, MB) pairs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.time(), _rss_mb(self.pid)))
            self._halt.wait(_SAMPLE_SECONDS)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def peak(self, start: float, end: float) -> float:
        inside = [mb for t, mb in self.samples if start <= t <= end]
        return max(inside, default=0.0)


def data_for(size: int, data: Path | None) -> Path:
    from pipeline.samples.churn import write_sample

    folder = (data or Path(tempfile.gettempdir()) / "govern-scale") / f"customers-{size}"
    if not all((folder / f"{s}.csv").is_file() for s in SOURCES):
        print(f"  generating {size} customers into {folder} ...", file=sys.stderr, flush=True)
        write_sample(folder, customers=size)
    return folder


def bare_read_seconds(folder: Path) -> dict[str, float]:
    """A bare DuckDB read of each file: every column VARCHAR, rejects stored, in memory."""
    import duckdb

    seconds = {}
    for source in SOURCES:
        with duckdb.connect() as conn:
            start = time.perf_counter()
            conn.execute(
                "CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar = true, header = true, "
                "store_rejects = true)",
                [str(folder / f"{source}.csv")],
            )
            seconds[source] = time.perf_counter() - start
    return seconds


def steps(instance, run_id: str) -> dict[str, tuple[float, float]]:
    """Start and end time of each step of a run, from its event log."""
    import dagster as dg

    spans: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            spans[event.step_key] = [entry.timestamp, entry.timestamp]
        elif (
            event.event_type
            in (
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            )
            and event.step_key in spans
        ):
            spans[event.step_key][1] = entry.timestamp
    return {k: (v[0], v[1]) for k, v in spans.items()}


def run_one(size: int, folder: Path) -> dict:
    """In a fresh process: the churn job on ``folder``'s files, measured."""
    os.environ["GOVERN_HOME"] = tempfile.mkdtemp(prefix=f"govern-scale-{size}-")
    os.environ.setdefault("GOVERN_HMAC_KEY", "benchmark-key-not-secret")
    import pipeline  # noqa: F401  (telemetry and network lookups off)
    from pipeline.declarations.dataset import load_datasets
    from pipeline.definitions import build_definitions
    from pipeline.runs.instance import local_instance
    from pipeline.runs.runner import run_dataset

    bare = bare_read_seconds(folder)
    lines = {s: sum(1 for _ in (folder / f"{s}.csv").open("rb")) - 1 for s in SOURCES}
    dataset = next(d for d in load_datasets(ROOT) if d.name == "churn")
    defs = build_definitions(ROOT)
    with local_instance() as instance:
        start = time.time()
        paths = {s: folder / f"{s}.csv" for s in SOURCES}
        summary = run_dataset(defs, dataset, instance, paths, root=ROOT)
        end = time.time()
        spans = steps(instance, summary.run_id)
    return {
        "customers": size,
        "lines": lines,
        "success": summary.success,
        "failures": summary.failures,
        "start": start,
        "end": end,
        "seconds": round(end - start, 2),
        "max_rss_mb": round(_peak_rss_kb() / 1024, 1),
        "spans": {k: v for k, v in spans.items() if not k.startswith("asset_check")},
        "bare_read_seconds": {k: round(v, 3) for k, v in bare.items()},
    }


def _peak_rss_kb() -> int:
    """This process's peak RSS since it started its program (``VmHWM``). Not ``ru_maxrss``:
    Linux carries that across exec from the forked parent, so a child started by a parent that
    had just generated the 1M files reported the generator's 6 GB as its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def with_memory(result: dict, sampler: RssSampler) -> dict:
    """The child's result with peak memory per asset and end to end, from the parent's samples."""
    peak = sampler.peak(result["start"], result["end"])
    return {
        **result,
        "peak_rss_mb": round(max(peak, result["max_rss_mb"]), 1),
        "peak_pss_mb": round(peak, 1),
        "assets": {
            key: {"seconds": round(e - s, 2), "peak_rss_mb": round(sampler.peak(s, e), 1)}
            for key, (s, e) in result["spans"].items()
        },
    }


def report(result: dict) -> str:
    size, lines = result["customers"], result["lines"]
    total_lines = sum(lines.values())
    out = [
        f"{size} customers ({lines['customers']} + {lines['transactions']} lines): "
        f"{result['seconds']:.1f} s end to end, peak memory {result['peak_rss_mb']:.0f} MB "
        f"(PSS sum {result['peak_pss_mb']:.0f}, the run's process RSS {result['max_rss_mb']:.0f}), "
        f"{1e6 * result['seconds'] / total_lines:.1f} us per input line, "
        f"{1e3 * result['seconds'] / size:.2f} ms per customer"
        + ("" if result["success"] else f"  FAILED: {result['failures']}"),
        f"  {'asset':<24} {'seconds':>8} {'peak MB':>8}",
    ]
    for key, facts in result["assets"].items():
        out.append(f"  {key:<24} {facts['seconds']:>8.1f} {facts['peak_rss_mb']:>8.0f}")
    for source in SOURCES:
        ingest = result["assets"].get(f"raw_{source}", {}).get("seconds")
        bare = result["bare_read_seconds"][source]
        if ingest:
            out.append(
                f"  ingest {source}: {ingest:.2f} s vs bare DuckDB read_csv {bare:.2f} s "
                f"({ingest / bare:.1f}x; step time, imports and checks included)"
            )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--data", type=Path, default=None, help="where the landing files go")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, data_for(args.one, args.data))))
        return
    results = []
    for size in args.sizes:
        data_for(size, args.data)
        command = [sys.executable, __file__, "--one", str(size)]
        if args.data:
            command += ["--data", str(args.data)]
        print(f"running {size} customers ...", file=sys.stderr, flush=True)
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sampler = RssSampler(child.pid)
        sampler.start()
        out, err = child.communicate()
        sampler.stop()
        if child.returncode != 0:
            print(err[-3000:], file=sys.stderr)
            continue
        results.append(with_memory(json.loads(out.strip().splitlines()[-1]), sampler))
        print(report(results[-1]), flush=True)
    if len(results) > 1:
        per_row = [r["seconds"] / r["customers"] for r in results]
        print(f"\ntime per customer, largest vs smallest size: {per_row[-1] / per_row[0]:.2f}x")


if __name__ == "__main__":
    main()
