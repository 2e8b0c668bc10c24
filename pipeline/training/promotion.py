"""Promotion: a registered version becomes ``challenger``, and ``champion`` if at least as good.

The decision and its reason are written on the model version as tags, for the audit trail.
"""

from dataclasses import dataclass

import mlflow
from mlflow.tracking import MlflowClient


@dataclass(frozen=True)
class Promotion:
    alias: str  # champion | challenger
    reason: str
    previous_champion: str | None


def decide(
    metric: str, value: float, tolerance: float, champion: tuple[str, float] | None
) -> Promotion:
    """Champion if there is none yet, or if ``value`` is at least the champion's minus the
    tolerance; challenger otherwise. ``champion`` is (version, its metric value)."""
    if champion is None:
        return Promotion("champion", "first registered version of this model", None)
    version, best = champion
    better = value >= best - tolerance
    reason = (
        f"{metric} {value:.4f} {'>=' if better else '<'} champion v{version}'s {best:.4f} "
        f"- tolerance {tolerance:g}"
    )
    return Promotion("champion" if better else "challenger", reason, version)


def _champion(client: MlflowClient, name: str, metric: str) -> tuple[str, float] | None:
    try:
        champion = client.get_model_version_by_alias(name, "champion")
    except mlflow.exceptions.MlflowException:
        return None
    best = client.get_run(champion.run_id).data.metrics.get(metric, float("-inf"))
    return str(champion.version), best


def promote(
    tracking_uri: str, name: str, version: str, metric: str, value: float, tolerance: float
) -> Promotion:
    """Alias the new version ``challenger``; move ``champion`` to it if it is at least as good."""
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    client.set_registered_model_alias(name, "challenger", version)
    decision = decide(metric, value, tolerance, _champion(client, name, metric))
    if decision.alias == "champion":
        client.set_registered_model_alias(name, "champion", version)
    client.set_model_version_tag(name, version, "govern.promotion.decision", decision.alias)
    client.set_model_version_tag(name, version, "govern.promotion.reason", decision.reason)
    return decision
