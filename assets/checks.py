"""Gates: GX suites as Dagster asset checks, and the write-audit-publish rule for every stage.

Checks are declared on their asset (``check_specs``) and evaluated inside it, after the output is
written to staging and before it is published: a table that fails a blocking gate is never the
published one, and Dagster does not run anything downstream of it.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg
import pandas as pd

from pipeline.contracts.suite import ContractSuite
from pipeline.contracts.validation import ClauseResult, validate


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


def contract_check_results(suite: ContractSuite, frame: pd.DataFrame) -> list[dg.AssetCheckResult]:
    return [_clause_check_result(suite, outcome) for outcome in validate(suite, frame)]


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
    asset_key: str, specs: Iterable[dg.AssetCheckSpec], results: Iterable[dg.AssetCheckResult]
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
        metadata={"blocked_gates": dg.MetadataValue.json([r.check_name for r in failed])},
        allow_retries=False,
    )


def audited(
    asset_key: str, specs: list[dg.AssetCheckSpec], results: list[dg.AssetCheckResult]
) -> Iterable[dg.AssetCheckResult]:
    """Yield every check result, then stop the asset if a blocking one failed."""
    yield from results
    failure = blocked_failure(asset_key, specs, results)
    if failure is not None:
        raise failure
