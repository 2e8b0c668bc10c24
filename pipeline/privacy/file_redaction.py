"""Redact any CSV or Parquet file with a source's policy: for sharing a file safely.

The file is read through the source's ingest contract (typed, unreadable lines quarantined and
counted), redacted, re-scanned by the residual-PII gate, and written only if the gate passes.
A file that lost more of its rows to quarantine than the source's ``max_reject_fraction``
allows (or all of them) is refused before any redaction: the file written would silently lack
them, and an empty file shared with "0 rows written" is a failure, not a success.
"""

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.declarations.dataset import DatasetSpec, SourceSpec
from pipeline.errors import GovernError
from pipeline.ingest.reader import IngestReport, ingest_to_table
from pipeline.ingest.rejects import reject_advice, summarize_reasons
from pipeline.naming import declaration_file, policy_file, policy_path
from pipeline.privacy.known_values import names_from_other_sources
from pipeline.privacy.policy import PiiPolicy, load_policy
from pipeline.privacy.redactor import RedactionReport, Redactor
from pipeline.privacy.residual import ResidualReport, residual_scan
from pipeline.privacy.scanner import Progress
from pipeline.storage.sql import quote_ident, quote_literal


@dataclass
class FileRedaction:
    rows_in: int
    rows_written: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int]
    report: RedactionReport
    residual: ResidualReport


@dataclass(frozen=True)
class RedactionKeys:
    """What a redactor needs beyond the policy: the HMAC key and the spaCy model."""

    hmac_key: bytes
    spacy_model: str


def find_source(datasets: list[DatasetSpec], source: str) -> DatasetSpec:
    """The dataset that declares ``source``; a clear error naming the known sources if none."""
    for dataset in datasets:
        if source in dataset.sources:
            return dataset
    known = sorted(s for d in datasets for s in d.sources)
    raise GovernError(f"unknown source {source!r}; declared sources: {known}")


def _other_names(
    conn: duckdb.DuckDBPyConnection, dataset: DatasetSpec, policy: PiiPolicy, root: Path
) -> dict[str, pd.Series]:
    """Names another source holds (patients' names for encounter notes), read from that
    source's declared file."""
    for other in sorted({o for o, _ in policy.names_from_other_sources()}):
        other_spec = dataset.sources[other]
        ingest_to_table(
            conn,
            other,
            other_spec,
            root / other_spec.path,
            quote_ident(f"_other_{other}"),
            "_other_quarantine",
        )
    return names_from_other_sources(conn, policy, lambda other: quote_ident(f"_other_{other}"))


def check_reject_budget(ingest: IngestReport, spec: SourceSpec, dataset: str) -> None:
    """Refuse a file whose rejected share is over the source's ``max_reject_fraction``, or of
    which no row could be read at all (whatever the budget). The message holds counts, reasons
    and where the budget is declared, never a line of the file."""
    over = ingest.reject_fraction > spec.max_reject_fraction
    if not over and not (ingest.rows_in and ingest.rows_loaded == 0):
        return
    budget = f", over the budget max_reject_fraction {spec.max_reject_fraction:g}" if over else ""
    raise GovernError(
        f"{ingest.source}: {ingest.rows_rejected} of {ingest.rows_in} rows rejected "
        f"({ingest.reject_fraction:.1%}){budget}; nothing written "
        f"({reject_advice(ingest)}). Fix the file or raise the budget in "
        f"{declaration_file(dataset)} (sources.{ingest.source}.max_reject_fraction)."
    )


def load_and_redact(
    datasets: list[DatasetSpec],
    root: Path,
    source: str,
    input_path: Path,
    keys: RedactionKeys,
    progress: Progress = None,
) -> tuple[FileRedaction, pd.DataFrame]:
    """Read ``input_path`` through the source's contract and redact it (in memory only);
    refused before redaction if too many of its rows are rejected (``check_reject_budget``)."""
    dataset = find_source(datasets, source)
    spec = dataset.sources[source]
    policy = load_policy(policy_path(root, source))
    with duckdb.connect() as conn:
        ingest = ingest_to_table(
            conn,
            source,
            spec.model_copy(update={"path": input_path}),
            input_path,
            "input",
            "quarantine",
        )
        check_reject_budget(ingest, spec, dataset.name)
        frame = conn.execute("SELECT * FROM input").df()
        names = _other_names(conn, dataset, policy, root)
    redactor = Redactor(policy, keys.hmac_key, keys.spacy_model)
    redacted, report = redactor.redact(frame, progress=progress, other_names=names)
    residual, redacted = residual_scan(redactor, frame, redacted)
    result = FileRedaction(
        ingest.rows_in,
        len(redacted),
        ingest.rows_rejected,
        summarize_reasons(ingest.reject_reasons),
        report,
        residual,
    )
    return result, redacted


def redact_file(
    datasets: list[DatasetSpec],
    root: Path,
    source: str,
    paths: tuple[Path, Path],
    keys: RedactionKeys,
    progress: Progress = None,
) -> FileRedaction:
    """Redact ``paths[0]`` into ``paths[1]``; nothing is written if the residual gate blocks."""
    input_path, output_path = paths
    if output_path.suffix not in (".csv", ".parquet"):
        raise GovernError(f"{output_path}: write .csv or .parquet")
    if output_path.resolve() == input_path.resolve():
        raise GovernError("the output must not overwrite the input (raw data is immutable)")
    result, redacted = load_and_redact(datasets, root, source, input_path, keys, progress)
    if not result.residual.passed:
        raise GovernError(
            f"residual-PII gate blocked, nothing written: {result.residual.describe()}. "
            f"Tighten {policy_file(source)}."
        )
    output_path.parent.mkdir(parents=True, exist_ok=True)
    redacted = _dates_as_dates(redacted)
    with duckdb.connect() as conn:
        conn.register("redacted", redacted)
        target = quote_literal(str(output_path))
        fmt = "PARQUET" if output_path.suffix == ".parquet" else "CSV, HEADER"
        conn.execute(f"COPY redacted TO {target} (FORMAT {fmt})")
    return result


def _dates_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """DuckDB DATE columns arrive in pandas as timestamps: write them back as dates."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if (
            str(column.dtype).startswith("datetime64")
            and (column.dropna() == column.dropna().dt.normalize()).all()
        ):
            out[name] = column.dt.date
    return out
