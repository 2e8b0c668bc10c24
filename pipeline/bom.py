"""The training bill of materials (BOM): which data, cleaned how, produced this model.

One JSON document per model version, logged as the MLflow artifact ``bom.json``. It is built
from what the Dagster graph recorded (materialization metadata and check results of every
upstream asset) and from the model's own run. It holds hashes, counts, names and verdicts,
never a data value.
"""

import platform
from typing import Any

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
) -> dict[str, Any]:
    """Assemble the BOM from plain facts (see ``assets.train`` for where they come from)."""
    return {
        "bom_version": BOM_VERSION,
        "dataset": dataset,
        "model": model,
        "dagster": dagster_run,
        "sources": {s: _source(upstream.get(f"raw_{s}", {})) for s in sources},
        "redaction": {s: _redaction(upstream.get(f"redacted_{s}", {})) for s in sources},
        "features": _asset(upstream.get(features, {})),
        "assets": {key: _asset(facts) for key, facts in upstream.items()},
        "contracts": {key: facts.get("checks", []) for key, facts in upstream.items()},
        "declarations": declarations,
        "code": {**code, "python": platform.python_version()},
    }


def _asset(facts: dict[str, Any]) -> dict[str, Any]:
    return {"data_version": facts.get("data_version"), "code_version": facts.get("code_version"),
            "dagster_run_id": facts.get("run_id"),
            "row_count": facts.get("metadata", {}).get("dagster/row_count")}


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
        "contract": meta.get("contract"),
        "contract_sha256": meta.get("contract_sha256"),
    }
