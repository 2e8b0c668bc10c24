"""Redact any CSV or Parquet file with a source's policy: for sharing a file safely.

The file is read through the source's ingest contract (typed, unreadable lines quarantined and
counted), redacted, re-scanned by the residual-PII gate, and written only if the gate passes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.declarations import DatasetSpec
from pipeline.errors import GovernError
from pipeline.ingest import ingest_to_table, summarize_reasons
from pipeline.policy import load_policy
from pipeline.redaction import (
    RedactionReport,
    Redactor,
    ResidualReport,
    names_from_other_sources,
    residual_scan,
)
from pipeline.sql import quote_ident, quote_literal


@dataclass
class FileRedaction:
    rows_in: int
    rows_written: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int]
    report: RedactionReport
    residual: ResidualReport


def find_source(datasets: list[DatasetSpec], source: str) -> DatasetSpec:
    for dataset in datasets:
        if source in dataset.sources:
            return dataset
    known = sorted(s for d in datasets for s in d.sources)
    raise GovernError(f"unknown source {source!r}; declared sources: {known}")


def load_and_redact(
    datasets: list[DatasetSpec], root: Path, source: str, input_path: Path, hmac_key: bytes,
    spacy_model: str, progress: Callable[[int], None] | None = None,
) -> tuple[FileRedaction, pd.DataFrame]:
    """Read ``input_path`` through the source's contract and redact it (in memory only)."""
    spec = find_source(datasets, source).sources[source]
    policy = load_policy(root / "policies" / f"{source}.yaml")
    dataset = find_source(datasets, source)
    with duckdb.connect() as conn:
        ingest = ingest_to_table(conn, source, spec.model_copy(update={"path": input_path}),
                                 input_path, "input", "quarantine")
        frame = conn.execute("SELECT * FROM input").df()
        # Names another source holds (patients' names for encounter notes): read from that
        # source's declared file.
        for other in sorted({o for o, _ in policy.names_from_other_sources()}):
            other_spec = dataset.sources[other]
            ingest_to_table(conn, other, other_spec, root / other_spec.path,
                            quote_ident(f"_other_{other}"), "_other_quarantine")
        names = names_from_other_sources(conn, policy,
                                         lambda other: quote_ident(f"_other_{other}"))
    redactor = Redactor(policy, hmac_key, spacy_model)
    redacted, report = redactor.redact(frame, progress=progress, other_names=names)
    residual = residual_scan(redactor, frame, redacted)
    result = FileRedaction(ingest.rows_in, len(redacted), ingest.rows_rejected,
                           summarize_reasons(ingest.reject_reasons), report, residual)
    return result, redacted


def redact_file(
    datasets: list[DatasetSpec], root: Path, source: str, input_path: Path, output_path: Path,
    hmac_key: bytes, spacy_model: str, progress: Callable[[int], None] | None = None,
) -> FileRedaction:
    if output_path.suffix not in (".csv", ".parquet"):
        raise GovernError(f"{output_path}: write .csv or .parquet")
    if output_path.resolve() == input_path.resolve():
        raise GovernError("the output must not overwrite the input (raw data is immutable)")
    result, redacted = load_and_redact(datasets, root, source, input_path, hmac_key,
                                       spacy_model, progress)
    if not result.residual.passed:
        raise GovernError(f"residual-PII gate blocked, nothing written: "
                          f"{result.residual.describe()}. Tighten policies/{source}.yaml.")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    redacted = _dates_as_dates(redacted)
    with duckdb.connect() as conn:
        conn.register("redacted", redacted)
        target = quote_literal(str(output_path))
        fmt = "PARQUET" if output_path.suffix == ".parquet" else "CSV, HEADER"
        conn.execute(f"COPY redacted TO {target} (FORMAT {fmt})")
    return result


def _dates_as_dates(frame):
    """DuckDB DATE columns arrive in pandas as timestamps: write them back as dates."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if str(column.dtype).startswith("datetime64") and (
                column.dropna() == column.dropna().dt.normalize()).all():
            out[name] = column.dt.date
    return out
