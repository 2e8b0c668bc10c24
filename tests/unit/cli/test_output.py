"""What `govern` prints: every asset's rows, every gate's verdict, blocked gates explained."""

from assets.evidence import GateOutcome
from pipeline.cli.output import format_policy_check, format_run_summary
from pipeline.runs.runner import AssetOutcome, RunSummary


def summary(gates: list[GateOutcome], success: bool = True) -> RunSummary:
    assets = [
        AssetOutcome(
            "raw_loans", "materialized", {"rows_in": 10, "rows_loaded": 9, "rows_rejected": 1}
        ),
        AssetOutcome(
            "redacted_loans",
            "failed" if not success else "materialized",
            {} if not success else {"dagster/row_count": 9},
        ),
        AssetOutcome("loan_model", "not run"),
    ]
    failures = [] if success else ["redacted_loans: gate 'residual_pii' blocked"]
    return RunSummary("loans", "run-1", success, assets, gates, failures)


def test_a_run_summary_names_rows_and_verdicts():
    # given a run where one warning failed and every blocking gate passed
    gates = [
        GateOutcome("raw_loans", "ingest_contract", True, True, "9 of 10 loaded"),
        GateOutcome(
            "redacted_loans", "mean_income", False, False, "observed 3.0", "expectations/loans.json"
        ),
    ]
    # when it is formatted
    text = format_run_summary(summary(gates))
    # then rows, passes and the warning with its contract and evidence are all there
    assert "9 rows loaded of 10, 1 quarantined" in text, text
    assert "redacted_loans / mean_income" in text and "WARNING  (expectations/loans.json)" in text
    assert "observed 3.0" in text, "a failed gate shows its evidence"
    assert "BLOCKED" not in text and "FAILED" not in text, text


def test_a_blocked_run_says_which_gate_stopped_it():
    gates = [GateOutcome("redacted_loans", "residual_pii", False, True, "PERSON x1 in notes")]
    text = format_run_summary(summary(gates, success=False))
    assert "redacted_loans / residual_pii" in text and "BLOCKED" in text, text
    assert "PERSON x1 in notes" in text and "FAILED:" in text, text
    assert "loan_model                   not run" in text, text


def test_policy_check_lists_problems_and_reviews_per_policy():
    text = format_policy_check(
        {"loans": [], "payments": ["columns ['x'] are in the data but not in the policy"]},
        {"loans": {"notes": "long text with no entity in the sample"}},
    )
    assert text.splitlines()[0] == "policies/loans.yaml: to review", text
    assert "  - review notes: long text" in text
    assert "policies/payments.yaml: needs attention" in text, text


def test_each_reproduce_verdict_says_what_it_means():
    # given a BOM, and the verdicts time travel can reach
    from pipeline.cli.output import format_reproduction
    from pipeline.lineage.reproduction import TIME_TRAVEL, Reproduction

    bom = {"assets": {"a": {}, "b": {}}, "model": {"metrics": {"roc_auc": 0.8}}}
    match = Reproduction("m", "1", True, [], [], {"table_versions": {"a": 0, "b": 2}})
    match.method = TIME_TRAVEL
    erased = Reproduction("m", "1", False, [], [], {}, ["E-1"])
    gone = Reproduction("m", "1", False, [], [], {}, method=TIME_TRAVEL)
    gone.gone = [
        {
            "asset": "f",
            "table": "features.f",
            "uri": "/t/features/f",
            "version": 3,
            "latest": 7,
            "cause": "its data files were removed (vacuumed)",
        }
    ]
    # when each is printed, then a match says how it was checked, an erasure gives its
    # verdict, and a gone version names table, version, place, cause and what to do
    assert "MATCH: retrained on the recorded table versions (Delta time travel), 2 table" in (
        format_reproduction(match, bom)
    )
    assert "not reproducible bit for bit: sources changed by erasure E-1" in (
        format_reproduction(erased, bom)
    )
    text = format_reproduction(gone, bom)
    assert "CANNOT REPRODUCE" in text and "erasure" not in text, text
    assert "features.f version 3 (asset f) at /t/features/f: its data files were removed" in text
    assert "govern reproduce m@1 --rebuild" in text, text
