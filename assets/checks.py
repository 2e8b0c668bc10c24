"""Gates: GX suites as Dagster asset checks, and the write-audit-publish rule for every stage.

Checks are declared on their asset (``check_specs``) and evaluated inside it, after the output is
staged (held in memory, or on the step's own DuckDB connection) and before it is published in
one Delta commit: a table that fails a blocking gate is never written, the published version
stays the previous one, and Dagster does not run anything downstream of it.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg

from pipeline.contracts.rows import RowGate, Screened, is_row_level
from pipeline.contracts.suite import ContractSuite
from pipeline.contracts.validation import ClauseResult


def contract_check_specs(suite: ContractSuite, asset_key: str) -> list[dg.AssetCheckSpec]:
    """One check per expectation; the suite's content hash is recorded with each."""
    return [
        dg.AssetCheckSpec(
            name=clause.check_name,
            asset=asset_key,
            blocking=clause.blocking,
            description=f"{'Blocking' if clause.blocking else 'Warning'} contract clause of "
            f"{suite.path.name}: {clause.description}",
            metadata={
                "contract": suite.path.name,
                "contract_sha256": suite.content_hash,
                "severity": "critical" if clause.blocking else "warning",
            },
        )
        for clause in suite.clauses
    ]


def screened_check_results(suite: ContractSuite, screened: Screened) -> list[dg.AssetCheckResult]:
    """One result per clause, in the suite's order: row-level clauses from the rows they sent
    to quarantine (against their budget), the others from the rows left to publish."""
    rows = {g.clause.check_name: g for g in screened.row_gates}
    tables = {r.clause.check_name: r for r in screened.table_results}
    return [
        _row_gate_result(suite, rows[c.check_name])
        if is_row_level(c)
        else _clause_check_result(suite, tables[c.check_name])
        for c in suite.clauses
    ]


def _row_gate_result(suite: ContractSuite, gate: RowGate) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=gate.clause.check_name,
        passed=gate.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "contract": suite.path.name,
            "contract_sha256": suite.content_hash,
            "expectation": gate.clause.description,
            "summary": gate.summary(),
            "unexpected_count": gate.rejected,
            "unexpected_percent": round(100 * gate.fraction, 4),
            "rows_quarantined": gate.rejected,
            "max_reject_fraction": gate.budget,
        },
    )


def row_counts(rows_in: int, published: int, quarantined: int) -> dict[str, int]:
    """A stage's row invariant, as asset metadata: rows_in == published + quarantined."""
    if rows_in != published + quarantined:
        raise AssertionError(
            f"row invariant broken: {rows_in} in, {published} published, {quarantined} quarantined"
        )
    return {"rows_in": rows_in, "rows_published": published, "rows_quarantined": quarantined}


def _clause_check_result(suite: ContractSuite, outcome: ClauseResult) -> dg.AssetCheckResult:
    clause = outcome.clause
    metadata: dict[str, Any] = {
        "contract": suite.path.name,
        "contract_sha256": suite.content_hash,
        "expectation": clause.description,
        "summary": outcome.summary(),
    }
    if outcome.observed_value is not None:
        metadata["observed_value"] = dg.MetadataValue.json({"value": outcome.observed_value})
    if outcome.unexpected_count is not None:
        metadata["unexpected_count"] = int(outcome.unexpected_count)
        metadata["unexpected_percent"] = float(outcome.unexpected_percent or 0.0)
    if outcome.unexpected_sample:
        # Taken from the redacted or feature table: tokens and tags, never raw values.
        metadata["unexpected_sample"] = dg.MetadataValue.json(outcome.unexpected_sample)
    return dg.AssetCheckResult(
        check_name=clause.check_name,
        passed=outcome.success,
        metadata=metadata,
        severity=dg.AssetCheckSeverity.ERROR if clause.blocking else dg.AssetCheckSeverity.WARN,
    )


def gate_result(
    check_name: str, passed: bool, summary: str, metadata: Mapping[str, Any] | None = None
) -> dg.AssetCheckResult:
    """A blocking gate's result, with its evidence as metadata."""
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"summary": summary, **(metadata or {})},
    )


def blocked_failure(
    asset_key: str,
    specs: Iterable[dg.AssetCheckSpec],
    results: Iterable[dg.AssetCheckResult],
    metadata: Mapping[str, Any] | None = None,
) -> dg.Failure | None:
    """A ``Failure`` naming every blocking gate that failed, or None if all passed."""
    blocking = {spec.name for spec in specs if spec.blocking}
    failed = [r for r in results if not r.passed and r.check_name in blocking]
    if not failed:
        return None
    reasons = []
    for result in failed:
        where = (
            f" (clause of expectations/{result.metadata['contract'].value})"
            if "contract" in result.metadata
            else ""
        )
        summary = result.metadata["summary"].value if "summary" in result.metadata else "failed"
        reasons.append(
            f"gate '{result.check_name}'{where} on asset '{asset_key}' blocked: {summary}"
        )
    return dg.Failure(
        description="; ".join(reasons) + ". The output was not published; nothing downstream ran.",
        metadata={
            "blocked_gates": dg.MetadataValue.json([r.check_name for r in failed]),
            **(metadata or {}),
        },
        allow_retries=False,
    )


def audited(
    asset_key: str,
    specs: list[dg.AssetCheckSpec],
    results: list[dg.AssetCheckResult],
    metadata: Mapping[str, Any] | None = None,
) -> Iterable[dg.AssetCheckResult]:
    """Yield every check result, then stop the asset if a blocking one failed; the failure
    carries ``metadata`` (row counts), so a blocked asset still reports them."""
    yield from results
    failure = blocked_failure(asset_key, specs, results, metadata)
    if failure is not None:
        raise failure
