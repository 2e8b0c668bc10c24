"""Ingest assets: ``raw_<source>``, a raw file loaded by DuckDB into a Delta table, with its
quarantine."""

import hashlib
import json
from functools import partial
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa

from assets.checks import audited, gate_result
from assets.openlineage import LineageSpec, OpenLineageResource, emits_openlineage, tables
from assets.resources import Warehouse
from pipeline.declarations.dataset import DatasetSpec, SourceSpec
from pipeline.errors import IngestError
from pipeline.ingest.gate import SlaResult, ingest_gate, sla_results
from pipeline.ingest.reader import ingest_to_table
from pipeline.ingest.rejects import summarize_reasons
from pipeline.lineage.openlineage import dataset_for_uri
from pipeline.naming import display_path, landing_asset, raw_asset
from pipeline.storage.warehouse import staging_name

INGEST_CODE_VERSION = "2"


class IngestConfig(dg.Config):
    path: str | None = None
    """Read this file instead of the declared one (same columns, same contract)."""


def sla_check_specs(key: str, spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    specs = []
    if spec.sla.max_age_hours is not None:
        specs.append(
            dg.AssetCheckSpec(
                "freshness",
                asset=key,
                blocking=spec.sla.freshness_blocks,
                description=f"The source file was modified within {spec.sla.max_age_hours:g} h.",
            )
        )
    if spec.sla.min_rows is not None or spec.sla.max_null_fraction:
        specs.append(
            dg.AssetCheckSpec(
                "completeness",
                asset=key,
                blocking=True,
                description="At least the SLA's rows, and no column above its NULL limit.",
            )
        )
    return specs


def _sla_check_result(result: SlaResult) -> dg.AssetCheckResult:
    evidence = {
        k: dg.MetadataValue.json(v) if isinstance(v, dict | list) else v
        for k, v in result.evidence.items()
    }
    return dg.AssetCheckResult(
        check_name=result.check,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if result.blocking else dg.AssetCheckSeverity.WARN,
        metadata={"summary": result.summary, **evidence},
    )


def _table_schema(schema: list[tuple[str, str]], pii: dict[str, str]) -> dg.TableSchema:
    """The raw table's columns, PII ones tagged with their entity (from the source's policy)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type_, tags={"pii": pii[name]} if name in pii else {})
            for name, type_ in schema
        ]
    )


def _batches(conn: duckdb.DuckDBPyConnection, table: str) -> pa.RecordBatchReader:
    """A stream of the staged table's rows, on a cursor of its own: the step's connection may
    still hold a result it did not fetch to the end (``fetchone``)."""
    return conn.cursor().sql(f"FROM {table}").arrow()


def _publish(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    conn: duckdb.DuckDBPyConnection,
    source: str,
) -> dict[str, int | str]:
    """The staged raw table, then its quarantine, each in one Delta commit, streamed from
    DuckDB to Delta in record batches (the table is never held whole in Python)."""
    versions: dict[str, int | str] = {}
    for schema in ("raw", "quarantine"):
        stream = partial(_batches, conn, staging_name(schema, source))
        versions.update(warehouse.publish(context, f"{schema}.{source}", stream))
    return versions


def build_ingest_asset(
    dataset: DatasetSpec,
    source: str,
    root: Path,
    pii_columns: dict[str, str],
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    spec = dataset.sources[source]
    key = raw_asset(source)
    check_specs = [
        dg.AssetCheckSpec(
            "ingest_contract",
            asset=key,
            blocking=True,
            description="rows_in == rows_loaded + rows_rejected, and rejects within the "
            f"contract's limit ({spec.max_reject_fraction:.0%}).",
        ),
        *sla_check_specs(key, spec),
    ]
    code_version = hashlib.sha256(
        (INGEST_CODE_VERSION + spec.model_dump_json()).encode()
    ).hexdigest()[:16]

    @dg.asset(
        name=key,
        group_name=dataset.name,
        check_specs=check_specs,
        deps=[landing_asset(source)],
        code_version=code_version,
        kinds={"deltalake", "duckdb"},
        partitions_def=partitions_def,
        description=f"`{spec.path}` loaded by DuckDB into the Delta table `raw.{source}` "
        f"(restricted zone); rows that cannot be read are kept in `quarantine.{source}` with "
        "line number and reason.",
        metadata={"source_path": str(spec.path), "table": f"raw.{source}"},
    )
    @emits_openlineage(
        dataset.name,
        LineageSpec(
            key,
            inputs=lambda call: {
                landing_asset(source): dataset_for_uri(str(call["config"].path or root / spec.path))
            },
            outputs=tables({key: f"raw.{source}", f"quarantine.{source}": f"quarantine.{source}"}),
        ),
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        config: IngestConfig,
        warehouse: Warehouse,
        openlineage: OpenLineageResource,
    ):
        path = Path(config.path) if config.path else root / spec.path
        if context.has_partition_key:
            # A batch folder: this run's partition is the file of that name in it.
            path = path / context.partition_key
        # The file is read into this step's own in-memory connection; the tables are published
        # only once every gate has passed.
        with warehouse.connect() as conn:
            staged = staging_name("raw", source)
            try:
                report = ingest_to_table(
                    conn, source, spec, path, staged, staging_name("quarantine", source)
                )
            except IngestError as exc:
                raise dg.Failure(description=f"asset '{key}': {exc}", allow_retries=False) from None
            passed, summary = ingest_gate(report, spec)
            evidence = {
                "rows_in": report.rows_in,
                "rows_loaded": report.rows_loaded,
                "rows_rejected": report.rows_rejected,
                "reject_reasons": dg.MetadataValue.json(summarize_reasons(report.reject_reasons)),
            }
            slas = [_sla_check_result(r) for r in sla_results(conn, staged, path, report, spec)]
            counts = {k: evidence[k] for k in ("rows_in", "rows_loaded", "rows_rejected")}
            yield from audited(
                key,
                check_specs,
                [gate_result("ingest_contract", passed, summary, evidence), *slas],
                counts,
            )
            versions = _publish(context, warehouse, conn, source)
        context.log.info(f"{key}: {summary}")
        data_version = hashlib.sha256((report.sha256 + code_version).encode()).hexdigest()[:32]
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
                **versions,
                "dagster/row_count": report.rows_loaded,
                "dagster/column_schema": _table_schema(report.schema, pii_columns),
                "ingest_contract": dg.MetadataValue.json(json.loads(spec.model_dump_json())),
            },
        )

    return _ingest
