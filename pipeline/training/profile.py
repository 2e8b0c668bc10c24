"""The training set's reference profile, and drift between two profiles.

A profile is what a later run needs to tell whether its data moved, without keeping the data:
per numeric feature, quantile bin edges and the count of rows in each bin (or, for a feature
with few distinct values, the count of each value); per categorical
feature, the frequency of each category. It is stored with every model version
(``feature_profile.json``), so two versions, or the champion and today's feature table, can be
compared long after the tables were rebuilt.

Drift is measured per feature as the population stability index (PSI) over the reference's
bins, with a test of the same difference from scipy: a two-sample Kolmogorov-Smirnov statistic
for numeric features (its p-value from ``scipy.stats.kstwo``, as ``ks_2samp`` computes its
asymptotic one) and a chi-square test of homogeneity for categorical ones.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.declarations.dataset import ModelSpec
from pipeline.training.model import feature_frame

PROFILE_VERSION = 1
QUANTILES = 20
"""Numeric features are cut at the 0, 5, ..., 100th percentiles (fewer edges when tied)."""
MAX_CATEGORIES = 50
"""Categories beyond the most frequent 50 are counted together under ``OTHER``."""
MAX_DISTINCT = 50
"""A numeric feature with at most 50 distinct values is profiled by its exact frequencies."""
OTHER = "__other__"
EPSILON = 1e-4
"""Share given to an empty bin in the PSI, whose logarithm would otherwise be infinite."""


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift from a reference profile to a current one."""

    feature: str
    kind: str
    psi: float
    test: str
    statistic: float
    p_value: float

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def build_profile(frame: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    """The profile of the feature table a model is trained on: counts and cut points only."""
    features, _ = feature_frame(frame, spec)
    return {
        "profile_version": PROFILE_VERSION,
        "rows": len(features),
        "numeric": {c: _numeric(features[c]) for c in spec.numeric_features},
        "categorical": {c: _categorical(features[c]) for c in spec.categorical_features},
    }


def profile_sha256(profile: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(profile, sort_keys=True).encode()).hexdigest()


def _numeric(column: pd.Series) -> dict[str, Any]:
    values = column.dropna().to_numpy(dtype=float)
    missing = int(column.isna().sum())
    distinct, per_value = np.unique(values, return_counts=True)
    if len(distinct) <= MAX_DISTINCT:
        # A count, a flag or a constant: its exact frequencies. Quantile bins would put the
        # mass of several values in one bin, and moving one row could move a cut point.
        return {
            "values": [float(v) for v in distinct],
            "counts": [int(c) for c in per_value],
            "missing": missing,
        }
    edges = np.unique(np.quantile(values, np.linspace(0, 1, QUANTILES + 1)))
    counts, _ = np.histogram(values, bins=edges)
    return {
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],
        "missing": missing,
    }


def _categorical(column: pd.Series) -> dict[str, Any]:
    frequencies = column.value_counts()
    kept = frequencies.head(MAX_CATEGORIES)
    counts = {str(k): int(v) for k, v in kept.items()}
    rest = int(frequencies.iloc[MAX_CATEGORIES:].sum())
    if rest:
        counts[OTHER] = rest
    return {"counts": counts}


def _points(summary: dict[str, Any]) -> list[float]:
    return summary["values"] if "values" in summary else summary["edges"]


def _cdf(summary: dict[str, Any], points: np.ndarray) -> np.ndarray:
    """The profile's cumulative share of non-missing rows at ``points``: exact for a profile
    of distinct values, linear within a quantile bin otherwise."""
    counts = summary["counts"]
    total = sum(counts)
    if not total:
        return np.zeros(len(points))
    cumulative = np.concatenate([[0.0], np.cumsum(counts) / total])
    if "values" in summary:
        return cumulative[np.searchsorted(summary["values"], points, side="right")]
    return np.interp(points, summary["edges"], cumulative, left=0.0, right=1.0)


def _cuts(reference: dict[str, Any]) -> np.ndarray:
    """The reference's interior cut points: between its distinct values, or its inner edges
    (the first and last bins reach to minus and plus infinity)."""
    points = np.asarray(_points(reference), dtype=float)
    if "values" in reference:
        return (points[:-1] + points[1:]) / 2
    return points[1:-1]


def _numeric_shares(reference: dict[str, Any], current: dict[str, Any]) -> tuple[list, list]:
    """Shares of the reference's bins (plus one for missing values) in both profiles."""
    ref_total = max(sum(reference["counts"]) + reference["missing"], 1)
    cur_total = max(sum(current["counts"]) + current["missing"], 1)
    ref = [c / ref_total for c in reference["counts"] or [0]] + [reference["missing"] / ref_total]
    cdf = np.concatenate([[0.0], _cdf(current, _cuts(reference)), [1.0]])
    present = sum(current["counts"]) / cur_total
    cur = [float(d) * present for d in np.diff(cdf)] + [current["missing"] / cur_total]
    return ref, cur


def psi(reference: list[float], current: list[float]) -> float:
    """Population stability index: sum of (current - reference) * ln(current / reference)."""
    ref = np.clip(np.asarray(reference, dtype=float), EPSILON, None)
    cur = np.clip(np.asarray(current, dtype=float), EPSILON, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _ks(reference: dict[str, Any], current: dict[str, Any]) -> tuple[float, float]:
    """Two-sample KS statistic between the profiles' CDFs, and its asymptotic p-value."""
    points = np.union1d(_points(reference), _points(current))
    n, m = sum(reference["counts"]), sum(current["counts"])
    if not len(points) or not n or not m:
        return 0.0, 1.0
    statistic = float(np.max(np.abs(_cdf(reference, points) - _cdf(current, points))))
    return statistic, float(stats.kstwo.sf(statistic, round(n * m / (n + m))))


def _chi_square(reference: dict[str, int], current: dict[str, int]) -> tuple[float, float]:
    categories = sorted(set(reference) | set(current))
    table = np.array(
        [[reference.get(c, 0) for c in categories], [current.get(c, 0) for c in categories]]
    )
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0
    result = stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def compare_profiles(reference: dict[str, Any], current: dict[str, Any]) -> list[FeatureDrift]:
    """Per-feature drift from ``reference`` to ``current``, the largest PSI first.

    Only features both profiles hold are compared: a feature added or dropped is a change of
    declaration, which the BOM's declaration hash already reports.
    """
    drifts = []
    for name, ref in reference.get("numeric", {}).items():
        cur = current.get("numeric", {}).get(name)
        if cur is None:
            continue
        statistic, p_value = _ks(ref, cur)
        drifts.append(
            FeatureDrift(name, "numeric", psi(*_numeric_shares(ref, cur)), "ks", statistic, p_value)
        )
    for name, ref in reference.get("categorical", {}).items():
        cur = current.get("categorical", {}).get(name)
        if cur is None:
            continue
        drifts.append(_categorical_drift(name, ref["counts"], cur["counts"]))
    return sorted(drifts, key=lambda d: (-round(d.psi, 9), d.feature))


def _categorical_drift(name: str, ref: dict[str, int], cur: dict[str, int]) -> FeatureDrift:
    categories = sorted(set(ref) | set(cur))
    ref_total, cur_total = max(sum(ref.values()), 1), max(sum(cur.values()), 1)
    score = psi(
        [ref.get(c, 0) / ref_total for c in categories],
        [cur.get(c, 0) / cur_total for c in categories],
    )
    statistic, p_value = _chi_square(ref, cur)
    return FeatureDrift(name, "categorical", score, "chi2", statistic, p_value)


@dataclass(frozen=True)
class DriftVerdict:
    """The drift gate's reading of a comparison: ``pass``, ``warn`` or ``block``."""

    level: str
    summary: str
    top: list[FeatureDrift]


def drift_verdict(
    drifts: list[FeatureDrift], warn_psi: float, block_psi: float | None, top: int = 5
) -> DriftVerdict:
    """Block when a feature's PSI exceeds ``block_psi`` (None: never), warn above ``warn_psi``."""
    if not drifts:
        return DriftVerdict("pass", "no feature in common with the reference profile", [])
    worst = drifts[0]
    over_warn = [d.feature for d in drifts if d.psi > warn_psi]
    if block_psi is not None and worst.psi > block_psi:
        level, limit = "block", f"> block_psi {block_psi}"
    elif over_warn:
        level, limit = "warn", f"> warn_psi {warn_psi}"
    else:
        level, limit = "pass", f"<= warn_psi {warn_psi}"
    summary = f"largest PSI {worst.feature} {worst.psi:.3f} {limit}"
    if over_warn:
        summary += f"; {len(over_warn)} feature(s) over warn_psi: {', '.join(over_warn[:top])}"
    return DriftVerdict(level, summary, drifts[:top])
