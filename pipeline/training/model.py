"""Training: a seeded scikit-learn pipeline over declared feature columns.

The split and the estimator are seeded, so the same feature table and parameters give the same
model and the same metrics: the basis of reproducing a model from its lineage.
"""

import hashlib
import importlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from pipeline.declarations.dataset import ModelSpec
from pipeline.errors import GovernError


@dataclass(frozen=True)
class TrainingSettings:
    """Seed, split and hyperparameters of one training run: the declaration's, overridden."""

    seed: int
    test_size: float
    params: dict[str, Any]

    @classmethod
    def resolve(
        cls,
        spec: ModelSpec,
        seed: int | None = None,
        test_size: float | None = None,
        params: dict[str, Any] | None = None,
    ) -> "TrainingSettings":
        """The declaration's settings, with any run-time override (``None`` keeps it)."""
        return cls(
            seed=spec.seed if seed is None else seed,
            test_size=spec.test_size if test_size is None else test_size,
            params={**spec.params, **(params or {})},
        )


@dataclass(frozen=True)
class EvaluationVerdict:
    """The evaluation gate: the held-out metric against the declared floor."""

    metric: str
    value: float
    threshold: float

    @property
    def passed(self) -> bool:
        return self.value >= self.threshold

    @property
    def summary(self) -> str:
        return f"{self.metric} {self.value:.4f} {'>=' if self.passed else '<'} {self.threshold}"


@dataclass
class TrainingResult:
    model: Pipeline
    metrics: dict[str, float]
    params: dict[str, Any]
    train_rows: int
    test_rows: int
    input_example: pd.DataFrame


def estimator_class(path: str) -> type[ClassifierMixin]:
    module_name, _, class_name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise GovernError(f"estimator {path!r} cannot be imported from scikit-learn") from None


def feature_frame(frame: pd.DataFrame, spec: ModelSpec) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target, with clear errors for columns the feature table lacks."""
    missing = [c for c in [*spec.features, spec.target] if c not in frame.columns]
    if missing:
        raise GovernError(
            f"model {spec.name!r}: the feature table has no columns {missing}; "
            f"it has {sorted(frame.columns)}"
        )
    features = frame[spec.features].copy()
    for column in spec.numeric_features:
        features[column] = pd.to_numeric(features[column], errors="coerce").astype(float)
    for column in spec.categorical_features:
        features[column] = (
            features[column].astype(object).where(features[column].notna(), "missing").astype(str)
        )
    target = frame[spec.target]
    if target.isna().any():
        raise GovernError(
            f"model {spec.name!r}: target {spec.target!r} has "
            f"{int(target.isna().sum())} missing values"
        )
    return features, target.astype(int)


def build_pipeline(spec: ModelSpec, params: dict[str, Any], seed: int) -> Pipeline:
    estimator_cls = estimator_class(spec.estimator)
    estimator_params = dict(params)
    if "random_state" in estimator_cls().get_params():
        estimator_params.setdefault("random_state", seed)
    preprocess = ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), spec.numeric_features),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                spec.categorical_features,
            ),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("estimator", estimator_cls(**estimator_params))])


def train(
    frame: pd.DataFrame, spec: ModelSpec, params: dict[str, Any], seed: int, test_size: float
) -> TrainingResult:
    features, target = feature_frame(frame, spec)
    if target.nunique() < 2:
        raise GovernError(f"model {spec.name!r}: target {spec.target!r} has one class only")
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=test_size, random_state=seed, stratify=target
    )
    model = build_pipeline(spec, params, seed)
    model.fit(x_train, y_train)
    probability = model.predict_proba(x_test)[:, 1]
    predicted = (probability >= 0.5).astype(int)
    metrics = {
        "roc_auc": float(roc_auc_score(y_test, probability)),
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1": float(f1_score(y_test, predicted, zero_division=0)),
        "log_loss": float(log_loss(y_test, np.clip(probability, 1e-7, 1 - 1e-7))),
        "positive_rate": float(target.mean()),
    }
    return TrainingResult(
        model,
        metrics,
        model.named_steps["estimator"].get_params(),
        len(x_train),
        len(x_test),
        x_test.head(5).reset_index(drop=True),
    )


def evaluate(result: TrainingResult, spec: ModelSpec) -> EvaluationVerdict:
    return EvaluationVerdict(spec.metric, result.metrics[spec.metric], spec.min_metric)


def model_data_version(features_version: str, settings: TrainingSettings, code_version: str) -> str:
    """The model's data version: same features, settings and code give the same version."""
    facts = [features_version, settings.params, settings.seed, settings.test_size, code_version]
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:32]
