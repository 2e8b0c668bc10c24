"""Ingest assets: ``raw_<source>``, a raw file loaded into DuckDB with its quarantine."""

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from assets.validate import audited, gate_result
from pipeline.declarations import DatasetSpec, SourceSpec
from pipeline.errors import IngestError
from pipeline.ingest import IngestReport, ingest_to_table, reject_advice, summarize_reasons
from pipeline.resources import Warehouse
from pipeline.sql import quote_ident
from pipeline.warehouse import publish, staging_name

INGEST_CODE_VERSION = "1"


class IngestConfig(dg.Config):
    path: str | None = None
    """Read this file instead of the declared one (same columns, same contract)."""


def ingest_gate(report: IngestReport, spec: SourceSpec) -> tuple[bool, str]:
    if not report.invariant_holds:
        return False, (f"rows_in {report.rows_in} != rows_loaded {report.rows_loaded} + "
                       f"rows_rejected {report.rows_rejected}")
    if report.rows_in == 0:
        return False, "the file has a header but no rows"
    if report.rows_loaded == 0:
        return False, f"no row could be loaded: {reject_advice(report)}"
    if report.reject_fraction > spec.max_reject_fraction:
        return False, (f"{report.rows_rejected} of {report.rows_in} rows rejected "
                       f"({report.reject_fraction:.1%}), above the contract's limit of "
                       f"{spec.max_reject_fraction:.1%}; {reject_advice(report)}")
    return True, (f"{report.rows_loaded} of {report.rows_in} rows loaded, "
                  f"{report.rows_rejected} quarantined ({report.reject_fraction:.1%})")


def sla_results(conn, table: str, path: Path, report: IngestReport,
                spec: SourceSpec) -> list[dg.AssetCheckResult]:
    """Freshness and completeness of the staged table against the source's SLA."""
    sla, results = spec.sla, []
    if sla.max_age_hours is not None:
        age = (time.time() - path.stat().st_mtime) / 3600
        fresh = age <= sla.max_age_hours
        results.append(dg.AssetCheckResult(
            check_name="freshness", passed=fresh,
            severity=dg.AssetCheckSeverity.ERROR if sla.freshness_blocks
            else dg.AssetCheckSeverity.WARN,
            metadata={"summary": f"source file is {age:.1f} h old (limit "
                                 f"{sla.max_age_hours:g} h)", "age_hours": round(age, 2)}))
    if sla.min_rows is not None or sla.max_null_fraction:
        problems, fractions = [], {}
        if sla.min_rows is not None and report.rows_loaded < sla.min_rows:
            problems.append(f"{report.rows_loaded} rows loaded, fewer than {sla.min_rows}")
        for column, limit in sla.max_null_fraction.items():
            nulls = conn.execute(f"SELECT avg(CASE WHEN {quote_ident(column)} IS NULL THEN 1.0 "
                                 f"ELSE 0.0 END) FROM {table}").fetchone()[0] or 0.0
            fractions[column] = round(float(nulls), 4)
            if nulls > limit:
                problems.append(f"column '{column}' is {nulls:.1%} NULL, above {limit:.1%}")
        results.append(gate_result(
            "completeness", not problems, "; ".join(problems) or
            f"{report.rows_loaded} rows; null fractions within limits",
            {"null_fractions": dg.MetadataValue.json(fractions)}))
    return results


def sla_check_specs(key: str, spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    specs = []
    if spec.sla.max_age_hours is not None:
        specs.append(dg.AssetCheckSpec(
            "freshness", asset=key, blocking=spec.sla.freshness_blocks,
            description=f"The source file was modified within {spec.sla.max_age_hours:g} h."))
    if spec.sla.min_rows is not None or spec.sla.max_null_fraction:
        specs.append(dg.AssetCheckSpec(
            "completeness", asset=key, blocking=True,
            description="At least the SLA's rows, and no column above its NULL limit."))
    return specs


def display_path(path: Path, root: Path) -> str:
    """Relative to the project root when inside it (portable), else absolute."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


def _table_schema(schema: list[tuple[str, str]], pii: dict[str, str]) -> dg.TableSchema:
    """The raw table's columns, PII ones tagged with their entity (from the source's policy)."""
    return dg.TableSchema(columns=[
        dg.TableColumn(name, type_, tags={"pii": pii[name]} if name in pii else {})
        for name, type_ in schema])


def build_ingest_asset(dataset: DatasetSpec, source: str, root: Path,
                       pii_columns: dict[str, str]) -> dg.AssetsDefinition:
    spec = dataset.sources[source]
    key = f"raw_{source}"
    check_specs = [dg.AssetCheckSpec(
        "ingest_contract", asset=key, blocking=True,
        description="rows_in == rows_loaded + rows_rejected, and rejects within the contract's "
                    f"limit ({spec.max_reject_fraction:.0%}).",
    ), *sla_check_specs(key, spec)]
    code_version = hashlib.sha256(
        (INGEST_CODE_VERSION + spec.model_dump_json()).encode()).hexdigest()[:16]

    @dg.asset(
        name=key, group_name=dataset.name, check_specs=check_specs, code_version=code_version,
        kinds={"duckdb"}, pool="duckdb",
        description=f"`{spec.path}` loaded into DuckDB `raw.{source}`; rows that cannot be read "
                    f"are kept in `quarantine.{source}` with line number and reason.",
        metadata={"source_path": str(spec.path), "table": f"raw.{source}"},
    )
    def _ingest(context: dg.AssetExecutionContext, config: IngestConfig, warehouse: Warehouse):
        path = Path(config.path) if config.path else root / spec.path
        with warehouse.connect() as conn:
            try:
                report = ingest_to_table(conn, source, spec, path, staging_name("raw", source),
                                         staging_name("quarantine", source))
            except IngestError as exc:
                raise dg.Failure(description=f"asset '{key}': {exc}", allow_retries=False) from None
            passed, summary = ingest_gate(report, spec)
            evidence = {
                "rows_in": report.rows_in, "rows_loaded": report.rows_loaded,
                "rows_rejected": report.rows_rejected,
                "reject_reasons": dg.MetadataValue.json(summarize_reasons(report.reject_reasons)),
            }
            yield from audited(key, check_specs, [
                gate_result("ingest_contract", passed, summary, evidence),
                *sla_results(conn, staging_name("raw", source), path, report, spec)])
            publish(conn, "raw", source)
            publish(conn, "quarantine", source)
        context.log.info(f"{key}: {summary}")
        data_version = hashlib.sha256(
            (report.sha256 + code_version).encode()).hexdigest()[:32]
        yield dg.MaterializeResult(
            data_version=dg.DataVersion(data_version),
            metadata={
                **evidence,
                "source_file": str(path.name),
                "source_path": display_path(path, root),
                "source_sha256": report.sha256,
                "source_bytes": report.size_bytes,
                "rejects_by_column": dg.MetadataValue.json(report.reject_columns),
                "quarantine_table": f"quarantine.{source}",
                "table": f"raw.{source}",
                "dagster/row_count": report.rows_loaded,
                "dagster/column_schema": _table_schema(report.schema, pii_columns),
                "ingest_contract": dg.MetadataValue.json(json.loads(spec.model_dump_json())),
            },
        )

    return _ingest
