"""Benchmark: the project's ingest against a bare DuckDB ``read_csv`` of the same file, one run.

    .venv/bin/python bench/ingest.py [--customers 100000] [--data DIR] [--repeat 5]

The data is the churn sample from the project's own generator (``pipeline.samples.churn``, what
``govern generate --customers N`` writes): written into ``--data`` (default: a folder under the
system temp dir named after the size and seed), or reused when both files are already there.
For ``transactions.csv`` and ``customers.csv`` it times, alternating, best of ``--repeat``:

- bare:   ``CREATE TABLE ... AS SELECT * FROM read_csv(...)``: every column VARCHAR, rejects
  stored (``store_rejects``), the dialect options the pipeline uses;
- ingest: ``pipeline.ingest.reader.ingest_to_table``, what the ``raw_<source>`` asset runs: the
  file's sha256 and line scan, typing, quarantine with line numbers, de-duplication.

Each pair runs twice: on an in-memory DuckDB, and on a DuckDB database file like the pipeline's
warehouse (where writing the table to disk costs both sides). Wall time is the measure and the
ratio is ingest / bare, target 2.0 or less; process CPU time (all threads) is printed too, as
it varies less when other work shares the machine.
"""

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

import pipeline  # noqa: F401  (switches off telemetry and network lookups first)
from pipeline.declarations.dataset import SourceSpec, load_datasets
from pipeline.ingest.reader import ingest_to_table
from pipeline.samples.churn import DEFAULT_SEED, write_sample
from pipeline.storage.sql import quote_literal

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("transactions", "customers")
TARGET_RATIO = 2.0


def sample(customers: int, data: Path | None) -> Path:
    """The folder holding the sample's CSV files, generated there unless already present."""
    folder = data or Path(tempfile.gettempdir()) / f"govern-bench-ingest-{customers}-{DEFAULT_SEED}"
    if all((folder / f"{source}.csv").exists() for source in SOURCES):
        print(f"reusing the sample in {folder}")
        return folder
    print(f"generating the {customers}-customer sample into {folder} ...", flush=True)
    write_sample(folder, customers, DEFAULT_SEED)
    return folder


def bare_read(conn: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path) -> None:
    """What a plain DuckDB load of the file costs: every field as text, rejects kept."""
    types = "{" + ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in spec.columns) + "}"
    conn.execute("DROP TABLE IF EXISTS bare_rejects")
    conn.execute("DROP TABLE IF EXISTS bare_scans")
    conn.execute(
        f"CREATE OR REPLACE TABLE bare AS SELECT * FROM read_csv({quote_literal(str(path))}, "
        f"header=true, delim={quote_literal(spec.delimiter)}, columns={types}, "
        "store_rejects=true, rejects_table='bare_rejects', rejects_scan='bare_scans', "
        "strict_mode=true, auto_detect=false, quote='\"', escape='\"', encoding='utf-8')"
    )


def best_of(repeat: int, runs: dict[str, Callable[[], None]]) -> dict[str, tuple[float, float]]:
    """Each run's best wall and CPU time over ``repeat`` rounds, alternating within a round."""
    best = {name: (float("inf"), float("inf")) for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def bench_source(
    source: str, spec: SourceSpec, path: Path, repeat: int, database: str
) -> dict[str, tuple[float, float]]:
    with duckdb.connect(database) as conn:
        times = best_of(
            repeat,
            {
                "bare": lambda: bare_read(conn, spec, path),
                "ingest": lambda: ingest_to_table(conn, source, spec, path, "raw", "quarantine"),
            },
        )
        report = ingest_to_table(conn, source, spec, path, "raw", "quarantine")
        bare_rows = conn.execute("SELECT count(*) FROM bare").fetchone()[0]
    if database == ":memory:":
        lines = sum(1 for _ in path.open("rb"))
        print(
            f"{source}.csv: {lines} lines, {path.stat().st_size / 1e6:.1f} MB; bare read "
            f"{bare_rows} rows; ingest rows_in {report.rows_in} = loaded {report.rows_loaded} "
            f"+ quarantined {report.rows_rejected}"
        )
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--data", type=Path, help="folder for the sample (reused if present)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best time counts")
    args = parser.parse_args()
    folder = sample(args.customers, args.data)
    dataset = next(d for d in load_datasets(ROOT) if set(SOURCES) <= set(d.sources))
    threads = duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"DuckDB {duckdb.__version__}, {threads} threads, best of {args.repeat}")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for mode, database in (("memory", ":memory:"), ("file", "warehouse.duckdb")):
            for source in SOURCES:
                if database != ":memory:":
                    database = str(Path(scratch) / f"{source}.duckdb")
                times = bench_source(
                    source, dataset.sources[source], folder / f"{source}.csv", args.repeat, database
                )
                rows.append((f"{source}.csv", mode, times["bare"], times["ingest"]))
    print(f"\n{'file':<18}{'duckdb':<8}{'bare':>8}{'ingest':>9}{'ratio':>7}{'cpu ratio':>11}")
    for name, mode, (bare, bare_cpu), (ingest, ingest_cpu) in rows:
        print(
            f"{name:<18}{mode:<8}{bare:>7.3f}s{ingest:>8.3f}s{ingest / bare:>7.2f}"
            f"{ingest_cpu / bare_cpu:>11.2f}"
        )
    worst = max(ingest[0] / bare[0] for _, _, bare, ingest in rows)
    print(f"\nworst ratio {worst:.2f} (target <= {TARGET_RATIO})")
    return 0 if worst <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
