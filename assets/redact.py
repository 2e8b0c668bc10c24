"""Redaction assets: ``redacted_<source>``, the source after its PII policy, re-scanned.

Write, audit, publish: the redacted frame is written to staging, re-scanned by the residual-PII
gate and validated by the source's contract; only if every blocking gate passes does it replace
``redacted.<source>``.
"""

import hashlib
from pathlib import Path

import dagster as dg

from assets.validate import audited, contract_check_results, contract_check_specs, gate_result
from pipeline.contracts import ContractSuite
from pipeline.declarations import DatasetSpec
from pipeline.policy import HashRule, PiiPolicy, file_hash
from pipeline.redaction import (
    REDACTION_CODE_VERSION,
    key_fingerprint,
    names_from_other_sources,
    residual_scan,
)
from pipeline.resources import RedactionResource, Warehouse
from pipeline.sql import qualified
from pipeline.warehouse import frame_fingerprint, publish, read_table, write_staging


def _column_schema(frame, policy: PiiPolicy) -> dg.TableSchema:
    columns = []
    for name in frame.columns:
        rule = policy.columns[name]
        tags = {"pii": rule.entity, "redaction": rule.action} if rule.entity else {
            "redaction": rule.action}
        columns.append(dg.TableColumn(name, str(frame[name].dtype), tags=tags))
    return dg.TableSchema(columns=columns)


def build_redact_asset(dataset: DatasetSpec, source: str, policy: PiiPolicy, policy_path: Path,
                       suite: ContractSuite, upstream_version: str) -> dg.AssetsDefinition:
    key = f"redacted_{source}"
    name_sources = sorted({other for other, _ in policy.names_from_other_sources()})
    policy_sha256 = file_hash(policy_path)
    check_specs = [
        dg.AssetCheckSpec("residual_pii", asset=key, blocking=True,
                          description="Re-scan of the redacted output: no identifying entity "
                                      "and no raw value of a PII column may remain."),
        *contract_check_specs(suite, key),
    ]
    code_version = hashlib.sha256(
        f"{REDACTION_CODE_VERSION}:{policy_sha256}:{suite.content_hash}:{upstream_version}"
        .encode()
    ).hexdigest()[:16]

    @dg.asset(
        name=key, group_name=dataset.name, check_specs=check_specs,
        deps=[f"raw_{source}", *(f"raw_{other}" for other in name_sources)],
        code_version=code_version, kinds={"duckdb", "presidio"}, pool="duckdb",
        description=f"`raw.{source}` after `policies/{source}.yaml`, published as "
                    f"`redacted.{source}` only if the residual-PII gate and the contract "
                    f"`expectations/{suite.path.name}` pass.",
        metadata={"policy": f"policies/{policy_path.name}", "policy_sha256": policy_sha256,
                  "contract": f"expectations/{suite.path.name}",
                  "contract_sha256": suite.content_hash, "table": f"redacted.{source}"},
    )
    def _redact(context: dg.AssetExecutionContext, warehouse: Warehouse,
                redaction: RedactionResource):
        with warehouse.connect() as conn:
            raw = read_table(conn, "raw", source)
            names = names_from_other_sources(conn, policy, lambda other: qualified("raw", other))
        redactor = redaction.redactor(policy)
        redacted, report = redactor.redact(raw, other_names=names)
        with warehouse.connect() as conn:
            write_staging(conn, redacted, "redacted", source)
        residual = residual_scan(redactor, raw, redacted)
        results = [
            gate_result("residual_pii", residual.passed, residual.describe(), {
                "findings": dg.MetadataValue.json(residual.findings),
                "surviving_raw_values": dg.MetadataValue.json(residual.surviving_raw_values),
                "distinct_cells_scanned": residual.cells_scanned,
            }),
            *contract_check_results(suite, redacted),
        ]
        yield from audited(key, check_specs, results)
        with warehouse.connect() as conn:
            publish(conn, "redacted", source)
        context.log.info(f"{key}: {len(redacted)} rows redacted; entities found "
                         f"{report.entity_totals()}")
        yield dg.MaterializeResult(
            data_version=dg.DataVersion(frame_fingerprint(redacted)),
            metadata={
                "dagster/row_count": len(redacted),
                "dagster/column_schema": _column_schema(redacted, policy),
                "dagster/column_lineage": dg.TableColumnLineage(deps_by_column={
                    name: [dg.TableColumnDep(asset_key=dg.AssetKey(f"raw_{source}"),
                                             column_name=name)]
                    for name in redacted.columns
                }),
                "redaction_report": dg.MetadataValue.json(report.as_metadata()),
                "entities_redacted": dg.MetadataValue.json(report.entity_totals()),
                "hashed_columns": dg.MetadataValue.json(
                    [n for n, r in policy.columns.items() if isinstance(r, HashRule)]),
                "dropped_columns": dg.MetadataValue.json(
                    [n for n in policy.columns if n not in redacted.columns]),
                "policy": f"policies/{policy_path.name}",
                "policy_sha256": policy_sha256,
                "contract": f"expectations/{suite.path.name}",
                "contract_sha256": suite.content_hash,
                "spacy_model": redaction.resolved_spacy_model(),
                "hmac_key_fingerprint": key_fingerprint(redaction.hmac_key.encode("utf-8")),
            },
        )

    return _redact
