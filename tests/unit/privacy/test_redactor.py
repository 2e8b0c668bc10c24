"""Redaction: the policy language, each column action, free-text scanning and the re-scan."""

from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import DeclarationError
from pipeline.privacy.policy import PiiPolicy, load_policy
from pipeline.privacy.redactor import Redactor
from pipeline.privacy.transforms import hmac_token
from pipeline.settings import DEFAULT_SPACY_MODEL
from tests.helpers import REPO

KEY = b"unit-test-key"


def policy(**columns) -> PiiPolicy:
    return PiiPolicy.model_validate({"source": "people", "columns": columns})


@pytest.fixture(scope="module")
def analyzer() -> str:
    """The spaCy model the scanners load (once per process)."""
    return DEFAULT_SPACY_MODEL


PEOPLE = pd.DataFrame(
    {
        "id": [101, 102, 103],
        "name": ["Maria Gonzalez", "Łukasz Nowak", "JOHN SMITH"],
        "email": ["maria.g@example.com", "lukasz@example.org", None],
        "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "4012888888881881"],
        "born": pd.to_datetime(["1980-05-01", "1975-12-31", "2001-01-01"]),
        "postcode": ["SW1A 1AA", "00-950", "94105"],
        "notes": [
            "Maria called about ORD-123456, email maria.g@example.com, phone +1 415-555-0134.",
            "Card 5500-0000-0000-0004 declined; NOWAK asked for a refund.",
            None,
        ],
    }
)
PEOPLE_POLICY = {
    "id": {"action": "hash", "entity": "CUSTOMER_ID"},
    "name": {"action": "drop", "entity": "PERSON"},
    "email": {"action": "hash", "entity": "EMAIL_ADDRESS", "prefix": "e_"},
    "card": {"action": "mask", "keep_last": 4, "entity": "CREDIT_CARD"},
    "born": {"action": "generalize", "to": "year", "entity": "DATE_OF_BIRTH"},
    "postcode": {"action": "generalize", "to": "prefix", "keep_chars": 2},
    "notes": {
        "action": "scan",
        "entities": ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "ORDER_NUMBER"],
        "redact_row_values_from": ["name", "email"],
    },
}


def people_redactor(analyzer, columns=None) -> Redactor:
    data = {
        "source": "people",
        "columns": columns or PEOPLE_POLICY,
        "recognizers": [
            {"name": "order", "entity": "ORDER_NUMBER", "regex": r"\bORD-\d{6}\b", "score": 0.9}
        ],
    }
    return Redactor(PiiPolicy.model_validate(data), KEY, analyzer)


def test_each_structured_action_transforms_in_bulk(analyzer):
    # given the people frame and a policy using every structured action
    before = PEOPLE.copy()
    # when it is redacted
    out, report = people_redactor(analyzer).redact(PEOPLE)
    # then dropped columns are gone and each action did what it says
    assert "name" not in out.columns, "drop must remove the column"
    assert out["id"].tolist() == [hmac_token(KEY, str(i)) for i in (101, 102, 103)]
    assert out["email"].iloc[0].startswith("e_") and pd.isna(out["email"].iloc[2])
    assert out["card"].tolist() == [
        "**** **** **** 1111",
        "****-****-****-0004",
        "************1881",
    ]
    assert out["born"].tolist() == [1980, 1975, 2001]
    assert out["postcode"].tolist() == ["SW", "00", "94"]
    assert report.columns["name"].values_changed == 3
    pd.testing.assert_frame_equal(PEOPLE, before, obj="the input frame must not be mutated")


def test_hash_is_keyed_deterministic_and_joinable():
    assert hmac_token(KEY, "100001") == hmac_token(KEY, "100001"), "same key, same token"
    assert hmac_token(KEY, "100001") != hmac_token(b"other-key", "100001"), "key matters"
    assert hmac_token(KEY, "100001") != hmac_token(KEY, "100002")


def test_scan_replaces_entities_in_free_text_and_counts_them(analyzer):
    out, report = people_redactor(analyzer).redact(PEOPLE)
    first, second = out["notes"].iloc[0], out["notes"].iloc[1]
    for raw in ("Maria", "maria.g@example.com", "415-555-0134", "ORD-123456"):
        assert raw not in first, f"{raw!r} survived in {first!r}"
    for raw in ("5500-0000-0000-0004", "NOWAK"):
        assert raw not in second, f"{raw!r} survived in {second!r}"
    assert "<EMAIL_ADDRESS>" in first and "<ORDER_NUMBER>" in first, first
    found = report.columns["notes"].entities_found
    assert found.get("PERSON", 0) >= 2 and found.get("CREDIT_CARD") == 1, found
    assert pd.isna(out["notes"].iloc[2]), "a missing note stays missing"


def test_unclassified_column_is_an_error_naming_it(analyzer):
    frame = PEOPLE.assign(ssn="123-45-6789")
    with pytest.raises(DeclarationError, match=r"\['ssn'\] are in the data but not in the policy"):
        people_redactor(analyzer).redact(frame)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"a": {"action": "shred"}}, "columns.a"),
        ({"a": {"action": "mask", "keep_last": 99}}, "columns.a.mask.keep_last"),
        ({"a": {"action": "scan"}}, "columns.a.scan.entities"),
        (
            {"a": {"action": "scan", "entities": ["PERSON"], "redact_row_values_from": ["zz"]}},
            "unknown columns ['zz']",
        ),
        ({"a": {"action": "scan", "entities": ["PERSN"]}}, "no recognizer finds 'PERSN'"),
    ],
)
def test_invalid_policy_fails_at_load_with_file_key_and_reason(tmp_path: Path, columns, message):
    import yaml

    path = tmp_path / "people.yaml"
    path.write_text(yaml.safe_dump({"source": "people", "columns": columns}))
    with pytest.raises(DeclarationError) as raised:
        load_policy(path)
    assert str(path) in str(raised.value) and message in str(raised.value), str(raised.value)


def test_shipped_policies_load():
    for path in sorted((REPO / "policies").glob("*.yaml")):
        assert load_policy(path).columns, path


def test_names_from_another_source_are_redacted_in_free_text(analyzer):
    # given notes that mention a person only another source knows, in lower-case context
    policy_ = PiiPolicy.model_validate(
        {
            "source": "visits",
            "columns": {
                "notes": {
                    "action": "scan",
                    "entities": ["PERSON"],
                    "known_names_from": ["patients.full_name"],
                }
            },
        }
    )
    frame = pd.DataFrame({"notes": ["follow-up booked, Quilliam stable on meds."]})
    names = {"patients.full_name": pd.Series(["Oswin Quilliam", "Ada Byron"])}
    # when it is redacted with the other source's names
    out, _ = Redactor(policy_, KEY).redact(frame, other_names=names)
    # then the name is gone, and without those names the redactor refuses to guess
    assert "Quilliam" not in out["notes"].iloc[0], out["notes"].iloc[0]
    with pytest.raises(ValueError, match="patients.full_name"):
        Redactor(policy_, KEY).redact(frame)


def test_a_name_at_the_end_of_a_line_is_replaced_and_the_line_break_kept(analyzer):
    # given a note whose name ends a line (NER's span for it can hold the line break)
    notes = pd.DataFrame(
        {"notes": ["- refund approved by Capucine Colas\npaid 566.44 on 25.11.2024"]}
    )
    redactor = people_redactor(analyzer, {"notes": {"action": "scan", "entities": ["PERSON"]}})
    # when it is redacted
    out, _ = redactor.redact(notes)
    # then the name is gone and the next line is still a line of its own
    assert out["notes"].iloc[0] == "- refund approved by <PERSON>\npaid 566.44 on 25.11.2024"
