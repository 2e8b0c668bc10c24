"""Training: declared settings with overrides, typed features, a seeded and reproducible split and
model, the evaluation gate, and a data version that moves with every fact that shapes the model."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from pipeline.declarations.dataset import ModelSpec
from pipeline.errors import GovernError
from pipeline.training.model import (
    EvaluationVerdict,
    TrainingSettings,
    build_pipeline,
    estimator_class,
    evaluate,
    feature_frame,
    model_data_version,
    train,
)

FOREST = "sklearn.ensemble.RandomForestClassifier"


def spec(**overrides) -> ModelSpec:
    fields = {
        "name": "churn_model",
        "target": "churned",
        "numeric_features": ["tenure_days", "n_orders"],
        "categorical_features": ["plan"],
        "estimator": FOREST,
        "params": {"n_estimators": 10, "max_depth": 3},
        "seed": 42,
        "test_size": 0.25,
        "metric": "roc_auc",
        "min_metric": 0.6,
    }
    return ModelSpec(**{**fields, **overrides})


def churn_frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Customers whose churn follows tenure (with noise), a few NULL features, three plans."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 1000, rows).astype(float)
    orders = rng.poisson(5, rows).astype(float)
    plan = rng.choice(["basic", "pro", "team"], rows).astype(object)
    churned = ((tenure + rng.normal(0, 200, rows)) < 400).astype(int)
    tenure[::17] = np.nan
    plan[::23] = None
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(rows)],
            "tenure_days": tenure,
            "n_orders": orders,
            "plan": plan,
            "churned": churned,
        }
    )


FRAME = churn_frame()


# --- settings and the evaluation gate ---------------------------------------------------------


def test_settings_come_from_the_declaration_unless_overridden():
    # given a declaration with a seed, a split and two hyperparameters
    declared = spec()
    # when nothing is overridden, then the declaration's settings are used as they are
    assert TrainingSettings.resolve(declared) == TrainingSettings(
        42, 0.25, {"n_estimators": 10, "max_depth": 3}
    ), "no override must mean the declaration's own settings"
    # when seed 0, a split and one parameter are overridden
    settings = TrainingSettings.resolve(declared, seed=0, test_size=0.5, params={"max_depth": 7})
    # then each override wins (seed 0 is a value, not 'unset') and other params survive
    assert settings.seed == 0, "seed 0 is a real override, not a missing one"
    assert settings.test_size == 0.5, "the run-time split must replace the declared one"
    assert settings.params == {"n_estimators": 10, "max_depth": 7}, "overrides merge over params"
    assert declared.params == {"n_estimators": 10, "max_depth": 3}, "the spec is left untouched"


def test_the_evaluation_gate_passes_at_the_threshold_and_blocks_below_it():
    # given a metric exactly at its floor and one just under it
    at_floor = EvaluationVerdict("roc_auc", 0.7, 0.7)
    below = EvaluationVerdict("roc_auc", 0.6999, 0.7)
    # then the floor itself passes, anything under it blocks, and the summary says which
    assert at_floor.passed, "a metric equal to the declared floor must pass the gate"
    assert not below.passed, "a metric under the floor must block registration"
    assert at_floor.summary == "roc_auc 0.7000 >= 0.7", at_floor.summary
    assert below.summary == "roc_auc 0.6999 < 0.7", below.summary


# --- estimator and feature frame --------------------------------------------------------------


def test_an_estimator_that_cannot_be_imported_is_a_clear_error():
    # given an existing class and two paths that name nothing
    assert estimator_class("sklearn.linear_model.LogisticRegression").__name__ == (
        "LogisticRegression"
    ), "a valid import path must resolve to its class"
    # then each bad path is a GovernError naming it, not an ImportError or AttributeError
    for path in ("sklearn.linear_model.NoSuchModel", "sklearn.no_such_module.Model"):
        with pytest.raises(GovernError, match=f"estimator '{path}' cannot be imported"):
            estimator_class(path)


def test_feature_frame_types_numbers_and_fills_missing_categories():
    # given dirty cells: numbers as text, an unparsable number, a NULL plan, a float target
    frame = pd.DataFrame(
        {
            "tenure_days": ["12", "abc", None],
            "n_orders": [1, 2, 3],
            "plan": ["pro", None, 3],
            "churned": [1.0, 0.0, 1.0],
            "unused": ["x", "y", "z"],
        }
    )
    # when the features and target are taken from it
    features, target = feature_frame(frame, spec())
    # then only declared features are kept, numbers are floats, NULL categories are 'missing'
    assert list(features.columns) == ["tenure_days", "n_orders", "plan"], "declared order only"
    assert features["tenure_days"].tolist()[0] == 12.0, "numeric text must become a number"
    assert features["tenure_days"].isna().tolist() == [False, True, True], "junk becomes NaN"
    assert features["n_orders"].dtype == float, "numeric features are floats for the imputer"
    assert features["plan"].tolist() == ["pro", "missing", "3"], "categories are text, never NULL"
    assert target.tolist() == [1, 0, 1] and target.dtype.kind == "i", "the target is an int class"


def test_feature_frame_names_missing_columns_and_missing_targets():
    # given a table without a declared feature, and one with a NULL target
    with pytest.raises(GovernError, match=r"has no columns \['n_orders'\]"):
        feature_frame(FRAME.drop(columns=["n_orders"]), spec())
    unlabeled = FRAME.astype({"churned": float})
    unlabeled.loc[[3, 9], "churned"] = np.nan
    # then each is refused with the column and the count
    with pytest.raises(GovernError, match="target 'churned' has 2 missing values"):
        feature_frame(unlabeled, spec())


def test_the_seed_is_the_estimators_random_state_unless_a_param_sets_it():
    # given an estimator with a random_state and one without
    seeded = build_pipeline(spec(), {"n_estimators": 5}, seed=7)
    explicit = build_pipeline(spec(), {"random_state": 3}, seed=7)
    knn = build_pipeline(spec(estimator="sklearn.neighbors.KNeighborsClassifier"), {}, seed=7)
    # then the seed fills random_state, an explicit param wins, and no seed is forced on KNN
    assert seeded.named_steps["estimator"].random_state == 7, "the seed must seed the estimator"
    assert explicit.named_steps["estimator"].random_state == 3, "an explicit param must win"
    assert "random_state" not in knn.named_steps["estimator"].get_params(), "no foreign param"


# --- training ---------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_split_model_and_metrics():
    # given one table trained twice with seed 42 and once with seed 7
    first = train(FRAME, spec(), spec().params, seed=42, test_size=0.25)
    again = train(FRAME, spec(), spec().params, seed=42, test_size=0.25)
    other = train(FRAME, spec(), spec().params, seed=7, test_size=0.25)
    # then seed 42 reproduces the held-out rows, the metrics and the predictions exactly
    pd.testing.assert_frame_equal(first.input_example, again.input_example)
    assert first.metrics == again.metrics, "same data and seed must give the same metrics"
    probe = feature_frame(FRAME, spec())[0]
    assert np.array_equal(first.model.predict_proba(probe), again.model.predict_proba(probe)), (
        "same seed must give the same fitted model"
    )
    # and another seed holds out other rows
    assert not first.input_example.equals(other.input_example), "another seed, another split"
    assert first.metrics != other.metrics, "another split must give other metrics"


def test_training_holds_out_the_declared_share_and_scores_it():
    # given 200 rows and a quarter held out
    result = train(FRAME, spec(), spec().params, seed=42, test_size=0.25)
    # then 150 rows train, 50 are scored, and the estimator records the seed it got
    assert (result.train_rows, result.test_rows) == (150, 50), "the declared split must hold"
    assert len(result.input_example) == 5, "the input example is five held-out rows"
    assert result.params["random_state"] == 42, "logged params must include the applied seed"
    assert result.metrics["positive_rate"] == pytest.approx(FRAME["churned"].mean()), "base rate"
    # and roc_auc is exactly the held-out score of the same stratified split
    features, target = feature_frame(FRAME, spec())
    _, x_test, _, y_test = train_test_split(
        features, target, test_size=0.25, random_state=42, stratify=target
    )
    expected = roc_auc_score(y_test, result.model.predict_proba(x_test)[:, 1])
    assert result.metrics["roc_auc"] == pytest.approx(expected), "metric on the held-out rows"
    assert result.metrics["roc_auc"] > 0.75, "tenure predicts churn: the model must learn it"


def test_a_target_with_one_class_cannot_be_trained():
    # given a table where nobody churned
    frame = FRAME.assign(churned=0)
    # then training refuses with the reason, not a scikit-learn traceback
    with pytest.raises(GovernError, match="target 'churned' has one class only"):
        train(frame, spec(), {}, seed=42, test_size=0.25)


def test_evaluate_reads_the_declared_metric_against_the_declared_floor():
    # given a model trained on learnable data and a floor it cannot reach
    result = train(FRAME, spec(metric="accuracy"), spec().params, seed=42, test_size=0.25)
    verdict = evaluate(result, spec(metric="accuracy", min_metric=0.99))
    # then the verdict carries the declared metric's value and blocks
    assert verdict.metric == "accuracy", "the declared metric is the one gated"
    assert verdict.value == result.metrics["accuracy"], "the gate reads the held-out metric"
    assert not verdict.passed, "a floor above the model's accuracy must block it"


# --- model data version -----------------------------------------------------------------------


def test_the_model_data_version_moves_with_every_input_and_only_with_them():
    # given a baseline and one change to each fact the version is made of
    base = TrainingSettings(42, 0.25, {"a": 1, "b": 2})
    version = model_data_version("features-v1", base, "code-v1")
    reordered = TrainingSettings(42, 0.25, {"b": 2, "a": 1})
    changed = [
        model_data_version("features-v2", base, "code-v1"),
        model_data_version("features-v1", TrainingSettings(43, 0.25, base.params), "code-v1"),
        model_data_version("features-v1", TrainingSettings(42, 0.3, base.params), "code-v1"),
        model_data_version("features-v1", TrainingSettings(42, 0.25, {"a": 1, "b": 3}), "code-v1"),
        model_data_version("features-v1", base, "code-v2"),
    ]
    # then it is 32 hex characters, stable across param order, and different for each change
    assert len(version) == 32 and int(version, 16) >= 0, "a 32-hex-digit version"
    assert version == model_data_version("features-v1", reordered, "code-v1"), "order-free"
    assert len({version, *changed}) == 6, "every input must change the version"
