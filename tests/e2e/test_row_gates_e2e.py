"""Row-level gates in the running pipeline: bad rows go to quarantine, the rest is published.

The shifted-field rows of issue 11 (an IP address in ``channel``, a non-card in
``card_number``) are quarantined with the gate and the reason, the good rows train the model,
and the row invariant holds. (A gate past its budget: ``test_pipeline_e2e`` for a contract
clause, ``tests/unit/privacy/test_residual.py`` for the residual gate.)
"""

import pytest

from tests.helpers import gate, run_churn, status, tables

pytestmark = pytest.mark.e2e


def _shift_fields(project, tmp_path, shifted: int, no_card: int):
    """The transactions file with ``shifted`` lines whose IP address moved into ``channel`` and
    card into nothing, then ``no_card`` lines whose card number is not a card."""
    lines = (project / "data/raw/transactions.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    changed = 0
    for i, line in enumerate(body):
        fields = line.split(",")
        if changed == shifted + no_card:
            break
        if len(fields) == 8 and fields[5].isdigit():
            fields[5] = "n/a"
            if changed < shifted:
                fields[7] = fields[6]
            body[i] = ",".join(fields)
            changed += 1
    out = tmp_path / "transactions.csv"
    out.write_text("\n".join([header, *body]) + "\n")
    return out


def test_a_few_bad_rows_are_quarantined_and_the_rest_trains(project, instance, tmp_path):
    # given a transactions file with two shifted-field rows (an IP address in the channel)
    # and three rows whose card number is not a card, among thousands
    shifted = _shift_fields(project, tmp_path, shifted=2, no_card=3)
    # when the churn job runs on it
    summary = run_churn(project, instance, {"transactions": shifted})
    # then the run succeeds and the model is trained on the good rows
    assert summary.success, summary.failures
    assert status(summary, "churn_model") == "materialized"
    facts = next(a.facts for a in summary.assets if a.asset == "redacted_transactions")
    assert facts["rows_quarantined"] == 5, facts
    assert facts["rows_in"] == facts["rows_published"] + facts["rows_quarantined"], facts
    # and each gate says what it quarantined, within the budget
    residual = gate(summary, "redacted_transactions", "residual_pii")
    assert residual.passed and "2 of" in residual.summary, residual.summary
    assert "quarantined, within the budget 5.00%" in residual.summary
    card = gate(summary, "redacted_transactions", "regex__card_number")
    assert card.passed and "3 of" in card.summary and "quarantined" in card.summary, card.summary
    # and the quarantine table holds the five rows with the gate and reason, apart from the
    # published table, which has none of them
    with tables() as conn:
        quarantined = conn.execute(
            "SELECT _gate, _reason FROM quarantine.redacted_transactions"
        ).fetchall()
        published = conn.execute("SELECT count(*) FROM redacted.transactions").fetchone()[0]
    assert (
        sorted(quarantined)
        == [("regex__card_number", quarantined_reason(card))] * 3
        + [("residual_pii", "an identifier in the kept column channel")] * 2
    )
    assert published == facts["rows_published"]


def quarantined_reason(gate_outcome) -> str:
    return "failed " + gate_outcome.summary.split(":")[0]
