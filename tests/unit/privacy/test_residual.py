"""The residual-PII gate: an independent verifier, its rate and bound, and raw-value survival."""

import math

import pandas as pd
import pytest

from pipeline.privacy.ner import PIECE_CHARS
from pipeline.privacy.policy import PiiPolicy
from pipeline.privacy.presidio import build_lean_analyzer
from pipeline.privacy.redactor import Redactor
from pipeline.privacy.residual import residual_scan
from pipeline.privacy.verifier import (
    ResidualVerifier,
    choose_sample,
    recase,
    sample_size,
    upper_bound,
)
from pipeline.settings import DEFAULT_SPACY_MODEL, DEFAULT_VERIFIER_MODEL

KEY = b"unit-test-key"

NOTES = pd.DataFrame(
    {
        "id": [1, 2, 3, 4],
        "email": ["maria.g@example.com", "lukasz@example.org", None, "ann@example.net"],
        "notes": [
            "Customer asked about a refund for the blue jacket.",
            "Call back on 212-555-0199 tomorrow morning, please.",
            "Delivery was late again; wants a discount.",
            "Asked whether the premium plan includes free returns.",
        ],
    }
)


def redactor(notes_entities: list[str], residual: dict | None = None, **columns) -> Redactor:
    policy = PiiPolicy.model_validate(
        {
            "source": "people",
            "columns": {
                "id": {"action": "hash", "entity": "CUSTOMER_ID"},
                "email": {"action": "drop", "entity": "EMAIL_ADDRESS"},
                "notes": {"action": "scan", "entities": notes_entities},
                **columns,
            },
            "residual": residual or {},
        }
    )
    return Redactor(policy, KEY, DEFAULT_SPACY_MODEL)


def test_clean_output_passes_with_a_zero_rate():
    # given a policy that scans the notes for everything identifying
    r = redactor(["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"])
    out, _ = r.redact(NOTES)
    # when the output is verified
    report, cleaned = residual_scan(r, NOTES, out)
    # then nothing is flagged: a census of every distinct cell, rate and bound zero
    assert report.passed, report.describe()
    assert report.cells_flagged == 0 and report.upper_bound == 0.0, report.as_metadata()
    assert report.cells_scanned == 4, "every distinct note is read when the column is small"
    assert cleaned.equals(out), "nothing flagged, nothing changed"


def test_verifier_sees_what_the_redactor_was_not_told_to_look_for():
    # given a policy whose scan misses phone numbers (the redactor never looks for them)
    r = redactor(["PERSON", "EMAIL_ADDRESS"])
    out, _ = r.redact(NOTES)
    assert "212-555-0199" in out["notes"].iloc[1], "precondition: the redactor left the phone"
    # when the output is verified under the default budget
    report, cleaned = residual_scan(r, NOTES, out)
    # then the verifier flags it, the gate blocks, and the flagged span is redacted anyway
    assert report.findings == {"notes": {"PHONE_NUMBER": 1}}, report.findings
    assert not report.passed, "1 flagged cell of 4 is far over a 0.001 budget"
    assert "212-555-0199" not in " ".join(cleaned["notes"]), "a flagged value is never published"
    assert "<PHONE_NUMBER>" in cleaned["notes"].iloc[1], cleaned["notes"].iloc[1]
    assert "212-555" not in report.describe(), "the report holds counts, never a value"


def test_a_rate_within_the_budget_passes_but_still_redacts_the_flagged_span():
    # given the same leaky policy with a budget of one cell in two
    r = redactor(["PERSON", "EMAIL_ADDRESS"], residual={"max_residual_rate": 0.5})
    out, _ = r.redact(NOTES)
    # when verified
    report, cleaned = residual_scan(r, NOTES, out)
    # then the gate passes (1 of 4 is within 0.5) and the phone is still gone
    assert report.passed, report.describe()
    assert report.residual_rate == pytest.approx(0.25), report.as_metadata()
    assert "212-555-0199" not in " ".join(cleaned["notes"]), "flagged spans are always redacted"


def test_a_kept_pii_column_is_flagged_by_type_and_column_only():
    # given a policy that wrongly keeps the email column
    r = redactor(["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"], email={"action": "keep"})
    out, _ = r.redact(NOTES)
    # when verified, then the emails are found, by type and column, and the gate blocks
    report, cleaned = residual_scan(r, NOTES, out)
    assert not report.passed
    assert report.findings.get("email", {}).get("EMAIL_ADDRESS") == 3, report.findings
    assert "maria" not in report.describe(), "the report must not hold raw values"
    assert not cleaned["email"].dropna().str.contains("@").any(), "flagged emails are redacted"


def test_rows_with_an_identifier_in_a_kept_column_are_named_for_quarantine_within_a_budget():
    # given a policy that wrongly keeps the email column (three rows hold an address)
    r = redactor(["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"], email={"action": "keep"})
    out, _ = r.redact(NOTES)
    # when verified with a row budget the three rows fit (75% of 4), and one they do not
    within, _ = residual_scan(r, NOTES, out, row_budget=0.8)
    over, _ = residual_scan(r, NOTES, out, row_budget=0.5)
    # then the rows are named for quarantine with a reason naming the column, not the value;
    # the kept column is not part of the free-text residual rate
    assert sorted(within.quarantine_rows) == [0, 1, 3], within.quarantine_rows
    assert set(within.quarantine_rows.values()) == {"an identifier in the kept column email"}
    assert within.passed and within.residual_rate == 0.0, within.describe()
    assert not over.passed and "over the budget 50.00%" in over.describe(), over.describe()


def test_raw_values_no_recognizer_knows_are_caught_verbatim():
    # given a street address column (no stock recognizer) generalized badly: kept whole
    frame = pd.DataFrame({"street": ["12 Canary Lane", "7 Elm Road"]})
    policy = PiiPolicy.model_validate(
        {
            "source": "s",
            "columns": {
                "street": {
                    "action": "generalize",
                    "to": "prefix",
                    "keep_chars": 40,
                    "entity": "STREET_ADDRESS",
                }
            },
        }
    )
    r = Redactor(policy, KEY, DEFAULT_SPACY_MODEL)
    out, _ = r.redact(frame)
    # when verified, then both survivors are counted and the gate blocks
    report, _ = residual_scan(r, frame, out)
    assert report.surviving_raw_values == {"street": 2}, report.describe()
    assert not report.passed, "a surviving raw value of a PII column always blocks"


def test_a_policy_that_turns_the_verifier_off_says_so():
    # given the leaky policy with the verifier off
    r = redactor(["PERSON", "EMAIL_ADDRESS"], residual={"verifier": "off"})
    out, _ = r.redact(NOTES)
    # when verified
    report, cleaned = residual_scan(r, NOTES, out)
    # then nothing is measured, the report says the verifier is off, and nothing is changed
    assert report.passed and not report.enabled, report.describe()
    assert "verifier off by policy" in report.describe(), report.describe()
    assert report.as_metadata()["residual_rate_upper_bound"] is None, "no bound without a scan"
    assert cleaned.equals(out), "an off verifier changes nothing"


def test_upper_bound_is_exact_for_a_census_and_clopper_pearson_for_a_sample():
    # a census has no sampling error
    assert upper_bound(2, 1000, 1000, 0.95) == pytest.approx(0.002), "census: the observed rate"
    # zero of n sampled: the bound is 1 - (1 - confidence) ** (1 / n)
    n = 2995
    expected = 1 - 0.05 ** (1 / n)
    assert upper_bound(0, n, 10**6, 0.95) == pytest.approx(expected, rel=1e-6), "CP, k = 0"
    assert upper_bound(0, 0, 0, 0.95) == 0.0, "an empty column has nothing to leak"
    assert upper_bound(3, 3, 10, 0.95) == 1.0, "all flagged: the bound is 1"


def test_sample_size_is_the_smallest_that_tolerates_one_flag_within_budget():
    # when sized for 0.001 at 95%
    n = sample_size(0.001, 0.95)
    # then one flag in n keeps the bound within budget, one flag in n - 1 does not
    assert upper_bound(1, n, math.inf, 0.95) <= 0.001, n
    assert upper_bound(1, n - 1, math.inf, 0.95) > 0.001, n
    assert 4000 < n < 6000, f"about 4,700 cells for 0.001 at 95%, got {n}"


def test_sample_is_seeded_by_the_data_and_covers_small_columns():
    texts = [f"note {i}" for i in range(100)]
    assert choose_sample(texts, 500) == list(range(100)), "a small column is read whole"
    first, again = choose_sample(texts, 10), choose_sample(texts, 10)
    assert first == again and len(first) == 10, "the same data gives the same sample"
    other = choose_sample([*texts[:-1], "changed"], 10)
    assert other != first, "different data gives a different sample"


# The verifier's own eyes: a model other than the redactor's, and recased reads.


def test_verifier_reads_with_a_model_of_its_own():
    # given a redacted note whose name the redactor's small model does not see
    note = ["Kauê lives on <STREET_ADDRESS> street."]
    # when NER with the small model and with the verifier's default model reads it
    small = build_lean_analyzer(DEFAULT_SPACY_MODEL).analyze(note[0], "en", ["PERSON"])
    model = build_lean_analyzer(DEFAULT_VERIFIER_MODEL).analyze(note[0], "en", ["PERSON"])
    own = ResidualVerifier(DEFAULT_VERIFIER_MODEL).flag(note, ["PERSON"])
    # then only the verifier's model sees the name, and the verifier flags it
    assert small == []
    assert [note[0][r.start : r.end] for r in model] == ["Kauê"]
    assert [note[0][h.start : h.end] for h in own[0]] == ["Kauê"]


def test_a_line_in_lower_case_is_read_recased():
    # given a note typed all in lower case, as chat and call notes often are
    note = "login ok\ncalled collin hendriks about the refund\nRefund to <IBAN_CODE> approved."
    # when it is recased for NER
    copy = recase(note)
    # then the lower-case lines read as an editor would case them (a sentence's first word,
    # and words that are not common English), the rest and every offset stay as they were
    assert copy.splitlines() == [
        "Login ok",
        "Called Collin Hendriks about the refund",
        "Refund to <IBAN_CODE> approved.",
    ]
    assert len(copy) == len(note)
    assert recase("Refund to <IBAN_CODE> approved.") == "Refund to <IBAN_CODE> approved."
    # and the verifier flags the name in the original text
    hits = ResidualVerifier(DEFAULT_VERIFIER_MODEL).flag([note], ["PERSON"])[0]
    assert "collin hendriks" in [note[h.start : h.end].lower() for h in hits]


def test_terms_on_the_policy_allow_list_are_not_flagged():
    # given a clinical note whose opening words the verifier's model reads as a name
    note = ["Hyperkalemia 6.1, treated with kayexalate; repeat labs tomorrow."]
    found = ResidualVerifier(DEFAULT_VERIFIER_MODEL).flag(note, ["PERSON"])[0]
    assert [note[0][h.start : h.end] for h in found] == ["Hyperkalemia 6.1"]
    # when the policy allows the term
    verifier = ResidualVerifier(DEFAULT_VERIFIER_MODEL, allow=frozenset({"hyperkalemia"}))
    # then it is not flagged
    assert verifier.flag(note, ["PERSON"]) == [[]]


def test_a_cell_longer_than_a_piece_is_read_in_pieces_with_offsets_kept():
    # given a long redacted note (several pieces) with a name and an e-mail left in it, one
    # near where the first piece is cut and one at the end
    filler = "The parcel was delivered to <STREET_ADDRESS> as agreed. " * 400
    note = filler + "Please ask Margarethe Vandersloot about it. " + filler + "Mail ann@example.net"
    assert len(note) > 2 * PIECE_CHARS
    # when the verifier reads it
    hits = ResidualVerifier(DEFAULT_VERIFIER_MODEL).flag([note], ["PERSON", "EMAIL_ADDRESS"])[0]
    # then both are found once, at their offsets in the whole cell
    assert sorted(note[h.start : h.end] for h in hits) == [
        "Margarethe Vandersloot",
        "ann@example.net",
    ]


def test_codes_and_categories_are_read_for_stock_patterns_without_nlp():
    # given the cells of kept columns: channels, postcodes, and two shifted fields
    cells = ["web", "78703", "EC1A 3LG", "10.0.0.7", "ann@example.net", "4111 1111 1111 1111"]
    # when read for the stock pattern entities only
    hits = ResidualVerifier(DEFAULT_VERIFIER_MODEL).flag(
        cells, ["EMAIL_ADDRESS", "IP_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"]
    )
    # then the shifted values are flagged by type, and the codes are not
    assert [[h.entity for h in found] for found in hits] == [
        [],
        [],
        [],
        ["IP_ADDRESS"],
        ["EMAIL_ADDRESS"],
        ["CREDIT_CARD"],
    ]
