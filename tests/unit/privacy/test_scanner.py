"""Column-wide PII detection: each known Presidio pitfall, and recall on the labelled corpus."""

import pytest

from pipeline.privacy.policy import load_policy
from pipeline.privacy.redactor import Redactor
from pipeline.privacy.scanner import ColumnScanner
from pipeline.samples.pii_corpus import generate_corpus, score
from pipeline.settings import DEFAULT_SPACY_MODEL
from tests.helpers import REPO

PATTERNS = ["EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS"]


@pytest.fixture(scope="module")
def scanner() -> ColumnScanner:
    return ColumnScanner([*PATTERNS, "PERSON"], spacy_model=DEFAULT_SPACY_MODEL)


def found(scanner: ColumnScanner, text: str) -> list[tuple[str, str]]:
    return [(text[h.start : h.end], h.entity) for h in scanner.scan([text])[0]]


def test_an_email_is_one_hit_not_split_into_urls(scanner):
    hits = found(scanner, "Send it to maria.g@mail.example.com today.")
    assert hits == [("maria.g@mail.example.com", "EMAIL_ADDRESS")], hits


def test_digit_and_mask_strings_are_never_people(scanner):
    hits = found(scanner, "Card ****-****-****-6196 and 4111 1111 were declined.")
    assert not [h for h in hits if h[1] == "PERSON"], hits


@pytest.mark.parametrize(
    "ssn", ["000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"]
)
def test_ssns_in_ranges_never_issued_are_not_ssns_nor_phones(scanner, ssn):
    hits = found(scanner, f"SSN {ssn} was quoted.")
    assert hits == [], f"{ssn} must not be flagged: {hits}"


def test_a_valid_ssn_with_context_is_found(scanner):
    assert found(scanner, "SSN 536-22-8467 on file.") == [("536-22-8467", "US_SSN")]


def test_all_caps_names_are_found(scanner):
    hits = found(scanner, "JOHN SMITH requested a callback tomorrow.")
    assert ("JOHN SMITH", "PERSON") in hits, hits


@pytest.mark.parametrize(
    "phone",
    [
        "+1 415-555-0134",
        "(415) 555-0134",
        "+44 20 7946 0958",
        "020 7946 0958",
        "+49 30 901820",
        "+33 1 99 00 12 34",
        "+48 22 123 45 67",
    ],
)
def test_phones_in_several_national_formats(scanner, phone):
    assert found(scanner, f"Call back on {phone} please.") == [(phone, "PHONE_NUMBER")]


@pytest.mark.parametrize(
    "text",
    [
        "Delivered 2024-03-05.",
        "Login from 203.0.113.77.",
        "Order ORD-123456 shipped.",
        "Paid 1234.50 EUR.",
    ],
)
def test_dates_ips_orders_and_amounts_are_not_phones(scanner, text):
    assert not [h for h in found(scanner, text) if h[1] == "PHONE_NUMBER"], text


def test_a_match_never_crosses_from_one_cell_to_the_next(scanner):
    hits = scanner.scan(["Call me on +1 415 555", "0134 tomorrow"])
    assert hits == [[], []], hits


def test_repeated_texts_get_identical_hits(scanner):
    text = "Spoke with Maria Gonzalez at maria@example.com."
    first, second = scanner.scan([text, text])
    assert first == second and first, first


def test_recall_on_the_labelled_corpus_meets_the_targets():
    # given the customers policy's free-text rule and 400 labelled texts
    policy = load_policy(REPO / "policies" / "customers.yaml")
    rule = policy.columns["support_notes"]
    corpus = generate_corpus(400)
    # when the column scanner runs over them
    hits = Redactor(policy, b"k").scan_texts(
        [c.text for c in corpus], rule.entities, rule.score_threshold
    )
    scores = score(
        corpus,
        [
            [(h.start, h.end, h.entity) for h in found if h.entity != "ORDER_NUMBER"]
            for found in hits
        ],
    )
    # then pattern entities reach 0.99, people and street addresses 0.90
    for entity in PATTERNS:
        assert scores[entity].recall >= 0.99, (entity, scores[entity])
    for entity in ("PERSON", "STREET_ADDRESS"):
        assert scores[entity].recall >= 0.90, (entity, scores[entity])
    assert scores["PERSON"].precision >= 0.90, scores["PERSON"]
