"""The verdict of ``govern diff`` from two BOMs: each area named, hashes and counts only."""

import copy

from pipeline.lineage.diff import diff_boms, format_diff


def bom(version: str) -> dict:
    return {
        "model": {
            "name": "m",
            "version": version,
            "params": {"max_iter": 200},
            "seed": 42,
            "metrics": {"roc_auc": 0.8},
            "code_version": "c0",
        },
        "sources": {"orders": {"path": "data/raw/orders.csv", "sha256": "a" * 64, "rows_in": 10}},
        "redaction": {"orders": {"residual_pii": {"rows_quarantined": 0}}},
        "assets": {"raw_orders": {"data_version": "d1", "code_version": "k1", "row_count": 10}},
        "declarations": {"govern.policy.orders.sha256": "p" * 64},
        "code": {"git_commit": "g1", "requirements_lock_sha256": "l1"},
    }


def test_identical_versions_changed_nothing():
    diff = diff_boms(bom("1"), bom("1"))
    assert diff.cause == "nothing" and diff.changes == [] and diff.drift is None
    assert "not compared" in diff.drift_note


def test_a_new_commit_is_code_and_a_policy_edit_is_configuration_not_code():
    after = bom("2")
    after["code"]["git_commit"] = "g2"
    diff = diff_boms(bom("1"), after)
    assert diff.cause == "code" and diff.verdict == "code: git_commit changed"
    edited = bom("2")
    edited["declarations"]["govern.policy.orders.sha256"] = "q" * 64
    edited["assets"]["raw_orders"]["code_version"] = "k2"  # the policy is in the code version
    diff = diff_boms(bom("1"), edited)
    assert diff.cause == "configuration", diff.verdict
    assert "govern.policy.orders.sha256" in diff.verdict and "also" not in diff.verdict


def test_a_new_file_without_a_profile_is_data_with_its_row_counts_and_metric_delta():
    after = copy.deepcopy(bom("2"))
    after["sources"]["orders"].update(sha256="b" * 64, rows_in=12)
    after["model"]["metrics"]["roc_auc"] = 0.7
    diff = diff_boms(bom("1"), after)
    assert diff.cause == "data" and diff.verdict == "data: source orders changed"
    assert {c.item for c in diff.area("data")} == {"source orders sha256", "source orders rows_in"}
    assert round(diff.metrics["roc_auc"]["delta"], 6) == -0.1
    text = format_diff(diff)
    assert "source orders sha256: aaaaaaaaaaaa… -> bbbbbbbbbbbb…" in text, text
