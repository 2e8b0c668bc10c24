"""The training profile and PSI: no drift on the same data, a large one on a shifted feature."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pipeline.declarations.dataset import DriftSpec, ModelSpec
from pipeline.training.profile import (
    build_profile,
    compare_profiles,
    drift_verdict,
    profile_sha256,
    psi,
)

SPEC = ModelSpec(
    name="m",
    target="y",
    numeric_features=["amount", "visits", "flag"],
    categorical_features=["plan"],
)


def frame(seed: int, n: int = 2000, scale: float = 1.0, plans=("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3, 1, n) * scale
    amount[:20] = np.nan
    return pd.DataFrame(
        {
            "amount": amount,
            "visits": rng.poisson(3, n),
            "flag": np.ones(n),
            "plan": rng.choice(plans, n),
            "y": rng.integers(0, 2, n),
        }
    )


def drift(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    return {d.feature: d for d in compare_profiles(build_profile(a, SPEC), build_profile(b, SPEC))}


def test_the_same_data_has_no_drift_and_the_profile_holds_counts_only():
    profile = build_profile(frame(1), SPEC)
    assert profile["rows"] == 2000 and profile["numeric"]["amount"]["missing"] == 20
    assert sum(profile["numeric"]["amount"]["counts"]) == 1980
    assert profile["numeric"]["flag"]["counts"] == [2000], "a constant column is one bin"
    assert all(d.psi < 1e-12 and d.p_value == 1 for d in drift(frame(1), frame(1)).values())
    assert profile_sha256(profile) == profile_sha256(build_profile(frame(1), SPEC))


def test_a_fresh_sample_of_the_same_distribution_stays_below_the_warning_level():
    assert all(d.psi < 0.1 for d in drift(frame(1), frame(2)).values())


def test_a_scaled_feature_ranks_first_with_a_large_psi_and_a_small_ks_p_value():
    ranked = compare_profiles(
        build_profile(frame(1), SPEC), build_profile(frame(1, scale=100), SPEC)
    )
    assert ranked[0].feature == "amount" and ranked[0].psi > 5 and ranked[0].p_value < 1e-9
    assert all(d.psi < 1e-12 for d in ranked[1:])


def test_the_profile_ks_statistic_is_close_to_scipys_on_the_raw_samples():
    a, b = frame(1), frame(3, scale=1.3)
    exact = stats.ks_2samp(a["amount"].dropna(), b["amount"].dropna()).statistic
    assert abs(drift(a, b)["amount"].statistic - exact) < 0.03


def test_a_new_category_is_drift_with_a_chi_square_test():
    result = drift(frame(1), frame(1, plans=("a", "b", "c", "d")))["plan"]
    assert result.test == "chi2" and result.psi > 0.1 and result.p_value < 1e-6


def test_psi_of_equal_shares_is_zero_and_grows_with_the_shift():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert 0 < psi([0.5, 0.5], [0.6, 0.4]) < psi([0.5, 0.5], [0.9, 0.1])


def test_the_drift_verdict_warns_then_blocks_on_the_declared_thresholds():
    ranked = drift(frame(1), frame(1, scale=100))
    drifts = sorted(ranked.values(), key=lambda d: -d.psi)
    assert drift_verdict(drifts, 0.1, 0.25).level == "block"
    warned = drift_verdict(drifts, 0.1, None)
    assert warned.level == "warn" and "largest PSI amount" in warned.summary
    assert warned.top[0].feature == "amount"
    calm = sorted(drift(frame(1), frame(2)).values(), key=lambda d: -d.psi)
    assert drift_verdict(calm, 0.1, 0.25).level == "pass"


def test_a_block_threshold_below_the_warning_one_is_refused():
    with pytest.raises(ValueError, match="block_psi must be at least"):
        DriftSpec(warn_psi=0.3, block_psi=0.2)


def test_one_row_less_moves_no_feature_even_a_count_with_few_values():
    # A count's quantile cut points can jump when one row goes; its exact frequencies cannot.
    a = frame(1)
    assert "values" in build_profile(a, SPEC)["numeric"]["visits"]
    assert all(d.psi < 0.01 for d in drift(a, a.iloc[:-1]).values())
