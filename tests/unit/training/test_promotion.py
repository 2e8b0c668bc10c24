"""Promotion: every new version is challenger, champion only if it beats the champion by more
than a tolerance (a tie is not better); the decision and its reason are tagged on the version for
the audit trail."""

import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from pipeline.training.promotion import (
    ERASURE_REQUESTS_TAG,
    ERASURE_RETRAIN,
    ERASURE_TAG,
    decide,
    promote,
)

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


def test_a_tie_is_challenger_and_only_a_strictly_better_value_is_champion():
    # given a champion v3 at 0.75 and no tolerance
    champion = ("3", 0.75)
    # then an equal value stays challenger, a higher one takes the title, a lower one does not
    tie = decide("roc_auc", 0.75, 0.0, champion)
    better = decide("roc_auc", 0.7501, 0.0, champion)
    worse = decide("roc_auc", 0.7499, 0.0, champion)
    assert tie.alias == "challenger", "a tie is not an improvement: the champion must stay"
    assert better.alias == "champion", "a strictly better model must become champion"
    assert worse.alias == "challenger", "a worse model must not become champion"
    assert tie.previous_champion == "3", "the decision names the champion it was compared with"
    assert tie.reason == "roc_auc 0.7500 <= champion v3's 0.7500 + tolerance 0", tie.reason
    assert better.reason == "roc_auc 0.7501 > champion v3's 0.7500 + tolerance 0", better.reason


def test_a_tie_in_all_but_float_rounding_is_still_a_tie():
    # given a champion whose metric is 0.1 + 0.2 (0.30000000000000004 in binary floating point)
    champion = ("1", 0.1 + 0.2)
    # then 0.3 is no worse and 0.30000000000000004 against a champion at 0.3 is no better
    assert decide("f1", 0.3, 0.0, champion).alias == "challenger"
    assert decide("f1", 0.1 + 0.2, 0.0, ("1", 0.3)).alias == "challenger", (
        "a difference of rounding noise must not move the champion"
    )


def test_the_tolerance_is_the_margin_a_challenger_must_beat_the_champion_by():
    # given a champion at 0.75 and a tolerance of 0.05
    champion = ("1", 0.75)
    # then a value inside the margin stays challenger, one past it is champion
    inside = decide("f1", 0.79, 0.05, champion)
    past = decide("f1", 0.81, 0.05, champion)
    assert inside.alias == "challenger", "better by less than the tolerance is not enough"
    assert past.alias == "champion", "better by more than the tolerance must be champion"
    assert inside.reason == "f1 0.7900 <= champion v1's 0.7500 + tolerance 0.05", inside.reason


@pytest.mark.parametrize(
    ("best", "tolerance", "value"),
    [(0.7, 0.1, 0.8), (0.6, 0.2, 0.8), (0.75, 0.25, 1.0), (0.1, 0.2, 0.3), (0.35, 0.15, 0.5)],
)
def test_better_by_exactly_the_tolerance_is_not_enough(best, tolerance, value):
    # given a value that beats the champion by exactly the tolerance, in decimal arithmetic
    # (in binary floating point 0.8 - 0.7 is 0.10000000000000009, more than 0.1)
    promotion = decide("roc_auc", value, tolerance, ("1", best))
    # then it is not better by more than the tolerance, whatever the rounding says
    assert promotion.alias == "challenger", promotion.reason
    # and a step just past the edge is
    assert decide("roc_auc", value + 1e-6, tolerance, ("1", best)).alias == "champion"


# --- promotion in the registry ----------------------------------------------------------------


def test_the_first_registered_version_is_champion_only(store):
    # given an empty registry and one registered version
    uri, client = store
    version = register(client, {"roc_auc": 0.8})
    # when it is promoted
    promotion = promote(uri, MODEL, version, "roc_auc", 0.8, 0.0)
    # then it is champion (not also challenger), and its version records why
    assert promotion.alias == "champion", "the first version must become champion"
    assert aliases(client) == {"champion": "1"}, aliases(client)
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
    assert "roc_auc 0.7000 <= champion v1's 0.8000" in reason, reason


def test_an_identical_rerun_is_registered_but_does_not_move_the_champion(store):
    # given champion v1 at roc_auc 0.80 and a rerun v2 with the very same metric
    uri, client = store
    promote(uri, MODEL, register(client, {"roc_auc": 0.8}), "roc_auc", 0.8, 0.0)
    rerun = register(client, {"roc_auc": 0.8})
    # when v2 is promoted
    promotion = promote(uri, MODEL, rerun, "roc_auc", 0.8, 0.0)
    # then v2 is challenger only, v1 stays champion, and v2's tags say why
    assert promotion.alias == "challenger", "a tie must not move the champion"
    assert aliases(client) == {"champion": "1", "challenger": "2"}, aliases(client)
    assert decision_tags(client, rerun) == (
        "challenger",
        "roc_auc 0.8000 <= champion v1's 0.8000 + tolerance 0",
    )


def test_a_version_better_by_more_than_the_tolerance_takes_over_as_champion(store):
    # given champion v1 at roc_auc 0.80, then v2 at 0.805 and v3 at 0.82, with a tolerance 0.01
    uri, client = store
    promote(uri, MODEL, register(client, {"roc_auc": 0.8}), "roc_auc", 0.8, 0.0)
    slightly = promote(uri, MODEL, register(client, {"roc_auc": 0.805}), "roc_auc", 0.805, 0.01)
    # when v3 is promoted
    promotion = promote(uri, MODEL, register(client, {"roc_auc": 0.82}), "roc_auc", 0.82, 0.01)
    # then v2, inside the tolerance, stayed challenger; v3 is champion and names v1 as replaced
    assert slightly.alias == "challenger", "better by less than the tolerance is not enough"
    assert promotion.alias == "champion", "better by more than the tolerance becomes champion"
    assert str(promotion.previous_champion) == "1", "the decision names the champion it replaced"
    assert aliases(client) == {"champion": "3"}, "no challenger is open once v3 took over"
    # and v1's tags no longer say champion: it was retired by v3, with the reason
    decision, reason = decision_tags(client, "1")
    assert decision == "retired" and reason.startswith("replaced by v3: roc_auc 0.8200 >"), reason
    assert decision_tags(client, "2")[0] == "challenger"


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


def test_a_champion_tagged_by_an_erasure_is_replaced_even_by_a_worse_version(store):
    # given a champion that an erasure tagged for retraining
    uri, client = store
    first = register(client, {"roc_auc": 0.8})
    promote(uri, MODEL, first, "roc_auc", 0.8, 0.0)
    client.set_model_version_tag(MODEL, first, ERASURE_TAG, ERASURE_RETRAIN)
    client.set_model_version_tag(MODEL, first, ERASURE_REQUESTS_TAG, "E-1")
    # when a worse version is registered after it
    worse = register(client, {"roc_auc": 0.7})
    promotion = promote(uri, MODEL, worse, "roc_auc", 0.7, 0.0)
    # then it is champion, and the reason names the erasure
    assert promotion.alias == "champion", promotion
    assert "erasure E-1" in promotion.reason, promotion.reason
    assert aliases(client)["champion"] == worse, aliases(client)


def test_an_untagged_champion_still_needs_to_be_beaten(store):
    # given a champion no erasure touched
    uri, client = store
    first = register(client, {"roc_auc": 0.8})
    promote(uri, MODEL, first, "roc_auc", 0.8, 0.0)
    # when a worse version is registered, then it is only challenger
    worse = register(client, {"roc_auc": 0.7})
    assert promote(uri, MODEL, worse, "roc_auc", 0.7, 0.0).alias == "challenger"
