"""Redaction assets: ``redacted_<source>``, the source after its PII policy, re-scanned.

Write, audit, publish: the redacted frame is held in memory, re-scanned by the residual-PII gate
and validated by the source's contract; only if every blocking gate passes does it replace
``redacted.<source>``, in one Delta commit.
"""

import hashlib
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd

from assets.checks import (
    audited,
    contract_check_specs,
    gate_result,
    row_counts,
    screened_check_results,
)
from assets.openlineage import LineageSpec, OpenLineageResource, emits_openlineage, tables
from assets.resources import RedactionResource, Warehouse
from assets.run_inputs import upstream_table_version
from pipeline.contracts.dataset import SourceContracts
from pipeline.contracts.rows import GATE_COLUMN, REASON_COLUMN, screen
from pipeline.declarations.dataset import DatasetSpec
from pipeline.lineage.openlineage import redaction_transformations
from pipeline.naming import policy_file, raw_asset, redacted_asset, suite_file
from pipeline.privacy.code_version import REDACTION_CODE_VERSION
from pipeline.privacy.known_values import names_from_other_sources
from pipeline.privacy.policy import HashRule, PiiPolicy
from pipeline.privacy.transforms import key_fingerprint
from pipeline.storage.sql import qualified
from pipeline.storage.warehouse import frame_fingerprint, read_table

if TYPE_CHECKING:  # Presidio and spaCy load in the steps that redact, not with the definitions
    from pipeline.privacy.redactor import RedactionReport
    from pipeline.privacy.residual import ResidualReport


def _column_schema(frame: pd.DataFrame, policy: PiiPolicy) -> dg.TableSchema:
    columns = []
    for name in frame.columns:
        rule = policy.columns[name]
        tags = (
            {"pii": rule.entity, "redaction": rule.action}
            if rule.entity
            else {"redaction": rule.action}
        )
        columns.append(dg.TableColumn(name, str(frame[name].dtype), tags=tags))
    return dg.TableSchema(columns=columns)


def _residual_result(residual: "ResidualReport") -> dg.AssetCheckResult:
    evidence = {
        "verifier": residual.verifier,
        "max_residual_rate": residual.budget,
        "distinct_cells_scanned": residual.cells_scanned,
        "cells_flagged": residual.cells_flagged,
        "findings": dg.MetadataValue.json(residual.findings),
        "surviving_raw_values": dg.MetadataValue.json(residual.surviving_raw_values),
        "rows_quarantined": len(residual.quarantine_rows),
    }
    if residual.enabled:
        evidence["residual_rate"] = residual.residual_rate
        evidence["residual_rate_upper_bound"] = residual.upper_bound
    return gate_result("residual_pii", residual.passed, residual.describe(), evidence)


def _report_metadata(
    source: str, redacted: pd.DataFrame, report: "RedactionReport", policy: PiiPolicy
) -> dict:
    return {
        "dagster/row_count": len(redacted),
        "dagster/column_schema": _column_schema(redacted, policy),
        "dagster/column_lineage": dg.TableColumnLineage(
            deps_by_column={
                name: [
                    dg.TableColumnDep(asset_key=dg.AssetKey(raw_asset(source)), column_name=name)
                ]
                for name in redacted.columns
            }
        ),
        "redaction_report": dg.MetadataValue.json(report.as_metadata()),
        "entities_redacted": dg.MetadataValue.json(report.entity_totals()),
        "hashed_columns": dg.MetadataValue.json(
            [n for n, r in policy.columns.items() if isinstance(r, HashRule)]
        ),
        "dropped_columns": dg.MetadataValue.json(
            [n for n in policy.columns if n not in redacted.columns]
        ),
    }


def _run_version(context: dg.AssetExecutionContext, key: str) -> int | None:
    return upstream_table_version(context.instance, context.run.run_id, key)


def build_redact_asset(
    dataset: DatasetSpec,
    source: str,
    contracts: SourceContracts,
    upstream_version: str,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    key = redacted_asset(source)
    policy, suite = contracts.policy, contracts.suite
    name_sources = contracts.name_sources()
    declared = {
        "policy": str(policy_file(source)),
        "policy_sha256": contracts.policy_sha256,
        "contract": str(suite_file(source)),
        "contract_sha256": suite.content_hash,
    }
    check_specs = [
        dg.AssetCheckSpec(
            "residual_pii",
            asset=key,
            blocking=True,
            description="An independent verifier (vanilla Presidio on whole cells, its own "
            "spaCy model) re-reads the redacted text: what it flags in free text is redacted "
            "before publishing, and the gate blocks when the residual rate's upper bound exceeds "
            "the policy's budget. Rows with an identifier in a kept column, or a raw value of a "
            "PII column left anywhere, are quarantined; past the source's max_reject_fraction "
            "the gate blocks.",
        ),
        *contract_check_specs(suite, key),
    ]
    code_version = hashlib.sha256(
        f"{REDACTION_CODE_VERSION}:{contracts.policy_sha256}:{suite.content_hash}:"
        f"{upstream_version}".encode()
    ).hexdigest()[:16]

    budget = dataset.sources[source].max_reject_fraction

    @dg.asset(
        name=key,
        group_name=dataset.name,
        check_specs=check_specs,
        deps=[raw_asset(source), *(raw_asset(other) for other in name_sources)],
        code_version=code_version,
        kinds={"deltalake", "presidio"},
        partitions_def=partitions_def,
        description=f"`raw.{source}` after `{declared['policy']}`, published as "
        f"`redacted.{source}` only if the residual-PII gate and the contract "
        f"`{declared['contract']}` pass.",
        metadata={**declared, "table": f"redacted.{source}"},
    )
    @emits_openlineage(
        dataset.name,
        LineageSpec(
            key,
            inputs=tables({raw_asset(o): f"raw.{o}" for o in [source, *sorted(name_sources)]}),
            outputs=tables({key: f"redacted.{source}", f"quarantine.{key}": f"quarantine.{key}"}),
            transformations=redaction_transformations(policy),
        ),
    )
    def _redact(
        context: dg.AssetExecutionContext,
        warehouse: Warehouse,
        redaction: RedactionResource,
        openlineage: OpenLineageResource,
    ):
        from pipeline.privacy.residual import residual_scan

        # The raw tables this run published (never a concurrent run's), each pinned to its
        # version, which the metadata records.
        readers = [source, *sorted(name_sources)]
        input_versions = {
            f"raw.{s}": warehouse.snapshot(f"raw.{s}", _run_version(context, raw_asset(s))).version
            for s in dict.fromkeys(readers)
        }
        with warehouse.connect(*input_versions, versions=input_versions) as conn:
            # A partitioned source is redacted one batch at a time (the run's partition).
            partition = context.partition_key if context.has_partition_key else None
            raw = read_table(conn, "raw", source, partition)
            names = names_from_other_sources(conn, policy, lambda other: qualified("raw", other))
        redactor = redaction.redactor(policy)
        redacted, report = redactor.redact(raw, other_names=names)
        # What the verifier flags is redacted here, before staging: it is never published.
        # Rows still holding a raw value, and rows failing a row-level clause, are quarantined.
        residual, redacted = residual_scan(redactor, raw, redacted, row_budget=budget)
        rows_in = len(raw)
        # Past the residual gate the raw rows are not needed: free them before the contract
        # runs (a large table would otherwise be held twice).
        del raw, names
        labels = list(residual.quarantine_rows)
        survivors = redacted.loc[labels].assign(
            **{
                GATE_COLUMN: "residual_pii",
                REASON_COLUMN: [residual.quarantine_rows[label] for label in labels],
            }
        )
        if labels:
            # Rebound, so the frame with those rows is freed, not held beside the copy.
            redacted = redacted.drop(index=labels)
        screened = screen(suite, redacted, budget)
        quarantined = pd.concat([survivors, screened.quarantined])
        counts = row_counts(rows_in, len(screened.kept), len(quarantined))
        # Staged in memory: the frames are published only if every blocking gate passes.
        redacted = screened.kept
        results = [_residual_result(residual), *screened_check_results(suite, screened)]
        yield from audited(key, check_specs, results, counts)
        versions = {
            **warehouse.publish(context, f"redacted.{source}", redacted),
            **warehouse.publish(context, f"quarantine.{key}", quarantined),
            "input_table_versions": dg.MetadataValue.json(input_versions),
        }
        context.log.info(
            f"{key}: {len(redacted)} rows redacted; entities found {report.entity_totals()}"
        )
        yield dg.MaterializeResult(
            data_version=dg.DataVersion(frame_fingerprint(redacted)),
            metadata={
                **counts,
                "table": f"redacted.{source}",
                "quarantine_table": f"quarantine.{key}",
                **versions,
                **_report_metadata(source, redacted, report, policy),
                "residual_pii": dg.MetadataValue.json(residual.as_metadata()),
                **declared,
                "spacy_model": redaction.resolved_spacy_model(),
                "hmac_key_fingerprint": key_fingerprint(redaction.hmac_key.encode("utf-8")),
            },
        )

    return _redact
