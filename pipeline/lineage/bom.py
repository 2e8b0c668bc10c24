"""The training bill of materials (BOM): which data, cleaned how, produced this model.

One JSON document per model version, logged as the MLflow artifact ``bom.json``. It is built
from what the Dagster graph recorded (materialization metadata and check results of every
upstream asset) and from the model's own run. It holds hashes, counts, names and verdicts,
never a data value.
"""

import platform
from typing import Any

from pipeline.declarations.dataset import ModelSpec
from pipeline.naming import raw_asset, redacted_asset
from pipeline.training.model import EvaluationVerdict, TrainingResult, TrainingSettings
from pipeline.training.promotion import Promotion
from pipeline.training.tracking import PROFILE_ARTIFACT, TrackedModel

BOM_VERSION = 1


def build_bom(
    *,
    dataset: str,
    model: dict[str, Any],
    dagster_run: dict[str, str],
    upstream: dict[str, dict[str, Any]],
    sources: list[str],
    features: str,
    declarations: dict[str, str],
    code: dict[str, str],
    profile_sha256: str | None = None,
) -> dict[str, Any]:
    """Assemble the BOM from plain facts (see ``assets.train`` for where they come from).

    ``upstream`` holds, per upstream asset key, what Dagster recorded of its latest
    materialization: data and code version, run id, metadata and check results.
    ``profile_sha256`` is the hash of the training set's profile, logged beside the BOM as
    ``feature_profile.json`` (counts and cut points per feature, see ``training.profile``).
    """
    return {
        "bom_version": BOM_VERSION,
        "dataset": dataset,
        "model": model,
        "dagster": dagster_run,
        "sources": {s: _source(upstream.get(raw_asset(s), {})) for s in sources},
        "redaction": {s: _redaction(upstream.get(redacted_asset(s), {})) for s in sources},
        "features": _asset(upstream.get(features, {})),
        "assets": {key: _asset(facts) for key, facts in upstream.items()},
        "contracts": {key: facts.get("checks", []) for key, facts in upstream.items()},
        "declarations": declarations,
        "code": {**code, "python": platform.python_version()},
        "feature_profile": {"artifact": PROFILE_ARTIFACT, "sha256": profile_sha256}
        if profile_sha256
        else None,
    }


def _json_ready(value: Any) -> Any:
    return (
        value
        if isinstance(value, str | int | float | bool | dict | list) or value is None
        else None
    )


def model_record(
    spec: ModelSpec,
    tracked: TrackedModel,
    settings: TrainingSettings,
    result: TrainingResult,
    verdict: EvaluationVerdict,
    promotion: Promotion,
    code_version: str,
) -> dict[str, Any]:
    """The BOM's ``model`` section: what was trained, how, how well, and its promotion."""
    return {
        "name": spec.name,
        "version": tracked.version,
        "mlflow_run_id": tracked.run_id,
        "model_uri": tracked.model_uri,
        "estimator": spec.estimator,
        "target": spec.target,
        "features": spec.features,
        # The split, so that `govern reproduce` retrains the same model whatever the
        # declaration says today.
        "numeric_features": spec.numeric_features,
        "categorical_features": spec.categorical_features,
        "params": {k: _json_ready(v) for k, v in settings.params.items()},
        "seed": settings.seed,
        "test_size": settings.test_size,
        "metrics": result.metrics,
        "metric": spec.metric,
        "evaluation_gate": verdict.summary,
        "alias": promotion.alias,
        "promotion_reason": promotion.reason,
        "code_version": code_version,
    }


def _asset(facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "data_version": facts.get("data_version"),
        "code_version": facts.get("code_version"),
        "dagster_run_id": facts.get("run_id"),
        "row_count": facts.get("metadata", {}).get("dagster/row_count"),
        # The Delta table and the version the asset published: time travel reads it back.
        "table_uri": facts.get("metadata", {}).get("table_uri"),
        "table_version": facts.get("metadata", {}).get("table_version"),
    }


def _source(facts: dict[str, Any]) -> dict[str, Any]:
    meta = facts.get("metadata", {})
    return {
        "path": meta.get("source_path"),
        "sha256": meta.get("source_sha256"),
        "bytes": meta.get("source_bytes"),
        "rows_in": meta.get("rows_in"),
        "rows_loaded": meta.get("rows_loaded"),
        "rows_rejected": meta.get("rows_rejected"),
        "reject_reasons": meta.get("reject_reasons"),
        "quarantine_table": meta.get("quarantine_table"),
        "ingest_contract": meta.get("ingest_contract"),
    }


def _redaction(facts: dict[str, Any]) -> dict[str, Any]:
    meta = facts.get("metadata", {})
    return {
        "policy": meta.get("policy"),
        "policy_sha256": meta.get("policy_sha256"),
        "entities_redacted": meta.get("entities_redacted"),
        "columns": meta.get("redaction_report"),
        "spacy_model": meta.get("spacy_model"),
        "hmac_key_fingerprint": meta.get("hmac_key_fingerprint"),
        # The verifier, the residual rate and its bound, or "off" where a policy turned it off.
        "residual_pii": meta.get("residual_pii"),
        "contract": meta.get("contract"),
        "contract_sha256": meta.get("contract_sha256"),
    }
