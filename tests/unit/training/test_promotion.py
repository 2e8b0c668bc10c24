"""Promotion: every new version is challenger, champion only if at least as good as the champion
(less a tolerance); the decision and its reason are tagged on the version for the audit trail."""

import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from pipeline.training.promotion import decide, promote

MODEL = "churn_model"


@pytest.fixture
def store(tmp_path: Path, empty_store: Path) -> tuple[str, MlflowClient]:
    """This test's own store: tracking and registry on the same URI, both given explicitly."""
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    client.create_experiment("promotion", artifact_location=(tmp_path / "artifacts").as_uri())
    return uri, client


def register(client: MlflowClient, metrics: dict[str, float]) -> str:
    """A registered version whose run logged ``metrics`` (what ``promote`` reads of a champion)."""
    experiment = client.get_experiment_by_name("promotion").experiment_id
    run = client.create_run(experiment)
    for key, value in metrics.items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id)
    if not client.search_registered_models(f"name = '{MODEL}'"):
        client.create_registered_model(MODEL)
    version = client.create_model_version(
        MODEL, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
    )
    return str(version.version)


def aliases(client: MlflowClient) -> dict[str, str]:
    return {
        alias: str(version) for alias, version in client.get_registered_model(MODEL).aliases.items()
    }


def decision_tags(client: MlflowClient, version: str) -> tuple[str, str]:
    tags = client.get_model_version(MODEL, version).tags
    return tags["govern.promotion.decision"], tags["govern.promotion.reason"]


# --- the decision -----------------------------------------------------------------------------


def test_the_first_version_is_champion():
    # given no champion, then any value is champion, with no previous one
    promotion = decide("roc_auc", 0.1, 0.0, None)
    assert promotion.alias == "champion", "the first registered version must become champion"
    assert promotion.previous_champion is None, "there was no champion before it"
    assert promotion.reason == "first registered version of this model", promotion.reason


def test_a_tie_is_champion_and_a_worse_value_is_challenger():
    # given a champion v3 at 0.75 and no tolerance
    champion = ("3", 0.75)
    # then an equal value takes the title ('at least as good'), a lower one does not
    tie = decide("roc_auc", 0.75, 0.0, champion)
    worse = decide("roc_auc", 0.7499, 0.0, champion)
    assert tie.alias == "champion", "an equal metric is 'at least as good': it becomes champion"
    assert worse.alias == "challenger", "a worse model must not become champion"
    assert worse.previous_champion == "3", "the decision names the champion it was compared with"
    assert worse.reason == "roc_auc 0.7499 < champion v3's 0.7500 - tolerance 0", worse.reason
    assert tie.reason == "roc_auc 0.7500 >= champion v3's 0.7500 - tolerance 0", tie.reason


def test_the_tolerance_admits_a_slightly_worse_model_down_to_its_edge():
    # given a champion at 0.75 and a tolerance of 0.25 (both exact in binary floating point)
    champion = ("1", 0.75)
    # then a value at exactly champion - tolerance is champion, just under it is challenger
    edge = decide("f1", 0.5, 0.25, champion)
    under = decide("f1", 0.49, 0.25, champion)
    assert edge.alias == "champion", "champion minus the tolerance is still good enough"
    assert under.alias == "challenger", "below champion minus tolerance must stay challenger"
    assert edge.reason == "f1 0.5000 >= champion v1's 0.7500 - tolerance 0.25", edge.reason


# --- promotion in the registry ----------------------------------------------------------------


def test_the_first_registered_version_holds_both_aliases(store):
    # given an empty registry and one registered version
    uri, client = store
    version = register(client, {"roc_auc": 0.8})
    # when it is promoted
    promotion = promote(uri, MODEL, version, "roc_auc", 0.8, 0.0)
    # then it is champion and challenger, and its version records why
    assert promotion.alias == "champion", "the first version must become champion"
    assert aliases(client) == {"champion": "1", "challenger": "1"}, aliases(client)
    assert decision_tags(client, version) == (
        "champion",
        "first registered version of this model",
    ), "the decision and reason must be tagged on the version"


def test_a_worse_version_is_challenger_and_the_champion_stays(store):
    # given champion v1 at roc_auc 0.80 and a new v2 at 0.70
    uri, client = store
    promote(uri, MODEL, register(client, {"roc_auc": 0.8}), "roc_auc", 0.8, 0.0)
    worse = register(client, {"roc_auc": 0.7})
    # when v2 is promoted with a tolerance of 0.05
    promotion = promote(uri, MODEL, worse, "roc_auc", 0.7, 0.05)
    # then v2 is only challenger and v1 keeps the champion alias
    assert promotion.alias == "challenger", "a worse model must not become champion"
    assert aliases(client) == {"champion": "1", "challenger": "2"}, aliases(client)
    decision, reason = decision_tags(client, worse)
    assert decision == "challenger", "the version's tag must record the refusal"
    assert "roc_auc 0.7000 < champion v1's 0.8000" in reason, reason


def test_a_version_within_the_tolerance_takes_over_as_champion(store):
    # given champion v1 at roc_auc 0.80 and v2 at 0.79, inside a tolerance of 0.02
    uri, client = store
    promote(uri, MODEL, register(client, {"roc_auc": 0.8}), "roc_auc", 0.8, 0.0)
    close = register(client, {"roc_auc": 0.79})
    # when v2 is promoted
    promotion = promote(uri, MODEL, close, "roc_auc", 0.79, 0.02)
    # then v2 is champion, as the tolerance documents, and the previous champion is named
    assert promotion.alias == "champion", "a model within the tolerance becomes champion"
    assert str(promotion.previous_champion) == "1", "the decision names the champion it replaced"
    assert aliases(client) == {"champion": "2", "challenger": "2"}, aliases(client)


def test_the_champion_is_judged_on_its_logged_metric_not_the_challengers_claim(store):
    # given champion v1 whose run logged roc_auc 0.9, then a v2 at 0.85
    uri, client = store
    promote(uri, MODEL, register(client, {"roc_auc": 0.9}), "roc_auc", 0.9, 0.0)
    promote(uri, MODEL, register(client, {"roc_auc": 0.85}), "roc_auc", 0.85, 0.0)
    # when v3 at 0.87 is promoted: better than the last challenger, worse than the champion
    promotion = promote(uri, MODEL, register(client, {"roc_auc": 0.87}), "roc_auc", 0.87, 0.0)
    # then it is compared with the champion's 0.9, so it is challenger and v1 stays
    assert promotion.alias == "challenger", "the bar is the champion, not the latest version"
    assert aliases(client) == {"champion": "1", "challenger": "3"}, aliases(client)
