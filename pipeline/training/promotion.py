"""Promotion: a registered version becomes ``champion`` if better, ``challenger`` otherwise.

Better means the metric beats the champion's by more than the model's promotion tolerance. A tie
is not better: two identical reruns would otherwise register a version each and move
``champion`` every time, though nothing improved. A champion trained on data an erasure later
changed (tagged ``erasure: retrain-required``) is replaceable: the next version registered
takes its place whatever its metric, for the old one was fitted on rows a person asked to be
erased. The decision and its reason are written on the model version as tags, for the audit
trail.
"""

from dataclasses import dataclass

import mlflow
from mlflow.tracking import MlflowClient

# Metric differences this small are floating-point noise, not a change. Without it the
# tolerance's edge depends on rounding: 0.8 - 0.7 is 0.10000000000000009 in binary floating
# point, which would beat 0.7 by more than a tolerance of 0.1 though it beats it by exactly
# 0.1. The metrics (roc_auc, accuracy, f1) lie in [0, 1] and are shown to four decimals:
# 1e-9 is far below any real change, and far above the rounding error of a difference.
EPSILON = 1e-9
DECISION_TAG = "govern.promotion.decision"  # champion | challenger | retired
REASON_TAG = "govern.promotion.reason"
# Set by `govern erase` on every version trained on data that held an erased subject.
ERASURE_TAG = "erasure"
ERASURE_RETRAIN = "retrain-required"
ERASURE_REQUESTS_TAG = "erasure.requests"  # the request ids, comma-separated


@dataclass(frozen=True)
class Promotion:
    alias: str  # champion | challenger
    reason: str
    previous_champion: str | None


def decide(
    metric: str,
    value: float,
    tolerance: float,
    champion: tuple[str, float] | None,
    erased_by: str | None = None,
) -> Promotion:
    """Champion if there is none yet, if the champion was trained on data later changed by an
    erasure (``erased_by``: its request ids), or if ``value`` beats the champion's by more than
    the tolerance (and by more than ``EPSILON``); challenger otherwise. ``champion`` is
    (version, its metric value)."""
    if champion is None:
        return Promotion("champion", "first registered version of this model", None)
    version, best = champion
    if erased_by:
        reason = (
            f"champion v{version} was trained on data later changed by erasure {erased_by}: "
            f"replaceable ({metric} {value:.4f}, was {best:.4f})"
        )
        return Promotion("champion", reason, version)
    better = value - best > tolerance + EPSILON
    reason = (
        f"{metric} {value:.4f} {'>' if better else '<='} champion v{version}'s {best:.4f} "
        f"+ tolerance {tolerance:g}"
    )
    return Promotion("champion" if better else "challenger", reason, version)


def _champion(
    client: MlflowClient, name: str, metric: str
) -> tuple[tuple[str, float] | None, str | None]:
    """The champion (version, metric) and, if an erasure tagged it, the request ids."""
    try:
        champion = client.get_model_version_by_alias(name, "champion")
    except mlflow.exceptions.MlflowException:
        return None, None
    best = client.get_run(champion.run_id).data.metrics.get(metric, float("-inf"))
    tags = champion.tags or {}
    erased = tags.get(ERASURE_REQUESTS_TAG) if tags.get(ERASURE_TAG) == ERASURE_RETRAIN else None
    return (str(champion.version), best), erased


def promote(
    tracking_uri: str, name: str, version: str, metric: str, value: float, tolerance: float
) -> Promotion:
    """Make the new version ``champion`` if it is better, ``challenger`` otherwise.

    One alias per role: a version that becomes champion is not also challenger (the alias is
    removed: no candidate is open), and the champion it replaces is tagged as retired, by whom
    and why, so no version's tags still read "champion" once the alias has moved on.
    """
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    champion, erased_by = _champion(client, name, metric)
    decision = decide(metric, value, tolerance, champion, erased_by)
    if decision.alias == "champion":
        client.set_registered_model_alias(name, "champion", version)
        if "challenger" in client.get_registered_model(name).aliases:
            client.delete_registered_model_alias(name, "challenger")
        if decision.previous_champion is not None:
            _retire(client, name, decision.previous_champion, version, decision.reason)
    else:
        client.set_registered_model_alias(name, "challenger", version)
    client.set_model_version_tag(name, version, DECISION_TAG, decision.alias)
    client.set_model_version_tag(name, version, REASON_TAG, decision.reason)
    return decision


def _retire(client: MlflowClient, name: str, old: str, new: str, reason: str) -> None:
    client.set_model_version_tag(name, old, DECISION_TAG, "retired")
    client.set_model_version_tag(name, old, REASON_TAG, f"replaced by v{new}: {reason}")
