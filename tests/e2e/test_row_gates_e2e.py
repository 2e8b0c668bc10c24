"""Row-level gates in the running pipeline: bad rows go to quarantine, the rest is published.

The shifted-field rows of issue 11 (an IP address in ``channel``, a non-card in
``card_number``) fail per-row clauses of the transactions contract: they are quarantined with
the clause and the reason, the good rows train the model, and the row invariant holds. Past the
source's budget the gate blocks, saying how many rows, what share and which budget.
"""

import duckdb
import pytest

from pipeline import settings
from tests.helpers import gate, run_churn, status

pytestmark = pytest.mark.e2e


def _shift_fields(project, tmp_path, rows: int, ip_in_channel: bool = True):
    """The transactions file with ``rows`` lines whose card holds no card number and, with
    ``ip_in_channel``, whose channel holds the row's IP address."""
    lines = (project / "data/raw/transactions.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    changed = 0
    for i, line in enumerate(body):
        fields = line.split(",")
        if changed == rows:
            break
        if len(fields) == 8 and fields[5].isdigit():
            fields[5] = "n/a"
            if ip_in_channel:
                fields[7] = fields[6]
            body[i] = ",".join(fields)
            changed += 1
    out = tmp_path / "transactions.csv"
    out.write_text("\n".join([header, *body]) + "\n")
    return out


def test_a_few_bad_rows_are_quarantined_and_the_rest_trains(project, instance, tmp_path):
    # given a transactions file with two shifted-field rows among thousands
    shifted = _shift_fields(project, tmp_path, rows=2)
    # when the churn job runs on it
    summary = run_churn(project, instance, {"transactions": shifted})
    # then the run succeeds and the model is trained on the good rows
    assert summary.success, summary.failures
    assert status(summary, "churn_model") == "materialized"
    facts = next(a.facts for a in summary.assets if a.asset == "redacted_transactions")
    assert facts["rows_quarantined"] == 2, facts
    assert facts["rows_in"] == facts["rows_published"] + facts["rows_quarantined"], facts
    # and the residual gate says it quarantined them (an IP address in a kept column)
    residual = gate(summary, "redacted_transactions", "residual_pii")
    assert residual.passed and "2 of" in residual.summary, residual.summary
    assert "quarantined, within the budget 5.00%" in residual.summary
    # and the quarantine table holds the two rows with the gate and reason, apart from the
    # published table, which has none of them
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as conn:
        quarantined = conn.execute(
            "SELECT transaction_id, _gate, _reason FROM quarantine.redacted_transactions"
        ).fetchall()
        published_ids = {
            r[0]
            for r in conn.execute("SELECT transaction_id FROM redacted.transactions").fetchall()
        }
    assert len(quarantined) == 2, quarantined
    assert {(g, r) for _, g, r in quarantined} == {
        ("residual_pii", "an identifier in the kept column channel")
    }
    assert not {tid for tid, _, _ in quarantined} & published_ids


def test_a_row_failing_a_contract_clause_is_quarantined_under_that_clause(
    project, instance, tmp_path
):
    # given a transactions file with three rows whose card number is not a card
    shifted = _shift_fields(project, tmp_path, rows=3, ip_in_channel=False)
    # when the churn job runs on it
    summary = run_churn(project, instance, {"transactions": shifted})
    # then the card clause quarantines them within its budget and the model is trained
    assert summary.success, summary.failures
    verdict = gate(summary, "redacted_transactions", "column_values_to_match_regex__card_number")
    assert verdict.passed and "3 of" in verdict.summary and "quarantined" in verdict.summary
    facts = next(a.facts for a in summary.assets if a.asset == "redacted_transactions")
    assert facts["rows_quarantined"] == 3, facts
    assert facts["rows_in"] == facts["rows_published"] + facts["rows_quarantined"], facts


def test_bad_rows_past_the_budget_block_and_say_by_how_much(project, instance, tmp_path):
    # given a transactions file where a tenth of the rows have shifted fields (budget 5%)
    total = len((project / "data/raw/transactions.csv").read_text().splitlines()) - 1
    shifted = _shift_fields(project, tmp_path, rows=total // 10)
    # when the churn job runs on it
    summary = run_churn(project, instance, {"transactions": shifted})
    # then the gate blocks naming the share and the budget, nothing downstream runs,
    # and the blocked asset still reports its row counts
    assert not summary.success
    assert status(summary, "churn_model") == "not run"
    verdict = gate(summary, "redacted_transactions", "residual_pii")
    assert not verdict.passed and "over the budget 5.00%" in verdict.summary, verdict.summary
    facts = next(a.facts for a in summary.assets if a.asset == "redacted_transactions")
    assert facts["rows_in"] == facts["rows_published"] + facts["rows_quarantined"], facts
    assert facts["rows_quarantined"] >= total // 10 - 200, facts
