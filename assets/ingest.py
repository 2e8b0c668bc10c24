"""Ingest assets: ``raw_<source>``, a raw file loaded into DuckDB with its quarantine."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from assets.validate import audited, gate_result
from pipeline.declarations import DatasetSpec, SourceSpec
from pipeline.errors import IngestError
from pipeline.ingest import IngestReport, ingest_to_table, summarize_reasons
from pipeline.resources import Warehouse
from pipeline.warehouse import publish, staging_name

INGEST_CODE_VERSION = "1"


class IngestConfig(dg.Config):
    path: str | None = None
    """Read this file instead of the declared one (same columns, same contract)."""


def ingest_gate(report: IngestReport, spec: SourceSpec) -> tuple[bool, str]:
    if not report.invariant_holds:
        return False, (f"rows_in {report.rows_in} != rows_loaded {report.rows_loaded} + "
                       f"rows_rejected {report.rows_rejected}")
    if report.rows_loaded == 0:
        return False, "no row could be loaded (header only, or every row rejected)"
    if report.reject_fraction > spec.max_reject_fraction:
        return False, (f"{report.rows_rejected} of {report.rows_in} rows rejected "
                       f"({report.reject_fraction:.1%}), above the contract's limit of "
                       f"{spec.max_reject_fraction:.1%}; see quarantine table")
    return True, (f"{report.rows_loaded} of {report.rows_in} rows loaded, "
                  f"{report.rows_rejected} quarantined ({report.reject_fraction:.1%})")


def _table_schema(schema: list[tuple[str, str]]) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, type_) for name, type_ in schema])


def build_ingest_asset(dataset: DatasetSpec, source: str, root: Path) -> dg.AssetsDefinition:
    spec = dataset.sources[source]
    key = f"raw_{source}"
    check_specs = [dg.AssetCheckSpec(
        "ingest_contract", asset=key, blocking=True,
        description="rows_in == rows_loaded + rows_rejected, and rejects within the contract's "
                    f"limit ({spec.max_reject_fraction:.0%}).",
    )]
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
                gate_result("ingest_contract", passed, summary, evidence)])
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
                "source_sha256": report.sha256,
                "source_bytes": report.size_bytes,
                "rejects_by_column": dg.MetadataValue.json(report.reject_columns),
                "quarantine_table": f"quarantine.{source}",
                "table": f"raw.{source}",
                "dagster/row_count": report.rows_loaded,
                "dagster/column_schema": _table_schema(report.schema),
                "ingest_contract": dg.MetadataValue.json(json.loads(spec.model_dump_json())),
            },
        )

    return _ingest
