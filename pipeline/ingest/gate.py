"""The ingest contract and the source's SLA, judged on a staged table before it is published.

The contract: ``rows_in == rows_loaded + rows_rejected`` and rejects within the declared
limit. The SLA: the file is fresh enough, enough rows loaded, no column NULL beyond its limit.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline.declarations.dataset import SourceSla, SourceSpec
from pipeline.ingest.reader import IngestReport
from pipeline.ingest.rejects import reject_advice
from pipeline.storage.sql import quote_ident


@dataclass(frozen=True)
class SlaResult:
    """One SLA check's verdict, its evidence, and whether failing it blocks."""

    check: str
    passed: bool
    blocking: bool
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


def ingest_gate(report: IngestReport, spec: SourceSpec) -> tuple[bool, str]:
    """Whether the ingest contract holds, and a one-line summary saying why."""
    if not report.invariant_holds:
        return False, (
            f"rows_in {report.rows_in} != rows_loaded {report.rows_loaded} + "
            f"rows_rejected {report.rows_rejected}"
        )
    if report.rows_in == 0:
        return False, "the file has a header but no rows"
    if report.rows_loaded == 0:
        return False, f"no row could be loaded: {reject_advice(report)}"
    if report.reject_fraction > spec.max_reject_fraction:
        return False, (
            f"{report.rows_rejected} of {report.rows_in} rows rejected "
            f"({report.reject_fraction:.1%}), above the contract's limit of "
            f"{spec.max_reject_fraction:.1%}; {reject_advice(report)}"
        )
    return True, (
        f"{report.rows_loaded} of {report.rows_in} rows loaded, "
        f"{report.rows_rejected} quarantined ({report.reject_fraction:.1%})"
    )


def freshness(path: Path, sla: SourceSla) -> SlaResult | None:
    """The source file's age against ``max_age_hours``; None when the SLA sets none."""
    if sla.max_age_hours is None:
        return None
    age = (time.time() - path.stat().st_mtime) / 3600
    return SlaResult(
        "freshness",
        age <= sla.max_age_hours,
        sla.freshness_blocks,
        f"source file is {age:.1f} h old (limit {sla.max_age_hours:g} h)",
        {"age_hours": round(age, 2)},
    )


def null_fraction(conn: duckdb.DuckDBPyConnection, table: str, column: str) -> float:
    """The share of NULLs in ``column`` of ``table`` (0.0 for an empty table)."""
    nulls = conn.execute(
        f"SELECT avg(CASE WHEN {quote_ident(column)} IS NULL THEN 1.0 ELSE 0.0 END) FROM {table}"
    ).fetchone()[0]
    return float(nulls or 0.0)


def completeness(
    conn: duckdb.DuckDBPyConnection, table: str, report: IngestReport, sla: SourceSla
) -> SlaResult | None:
    """Rows loaded against ``min_rows``, NULL shares against ``max_null_fraction``."""
    if sla.min_rows is None and not sla.max_null_fraction:
        return None
    problems, fractions = [], {}
    if sla.min_rows is not None and report.rows_loaded < sla.min_rows:
        problems.append(f"{report.rows_loaded} rows loaded, fewer than {sla.min_rows}")
    for column, limit in sla.max_null_fraction.items():
        nulls = null_fraction(conn, table, column)
        fractions[column] = round(nulls, 4)
        if nulls > limit:
            problems.append(f"column '{column}' is {nulls:.1%} NULL, above {limit:.1%}")
    summary = "; ".join(problems) or f"{report.rows_loaded} rows; null fractions within limits"
    return SlaResult("completeness", not problems, True, summary, {"null_fractions": fractions})


def sla_results(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    report: IngestReport,
    spec: SourceSpec,
) -> list[SlaResult]:
    """Freshness and completeness of the staged ``table`` against the source's SLA."""
    results = [freshness(path, spec.sla), completeness(conn, table, report, spec.sla)]
    return [r for r in results if r is not None]
