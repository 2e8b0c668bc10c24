"""The labelled PII corpus: deterministic, exactly spanned, balanced, and scored correctly."""

import ipaddress
import re
from collections import Counter

import pytest

from pipeline.samples.pii_corpus import (
    ENTITY_TYPES,
    Detection,
    EntityScore,
    LabelledText,
    Span,
    format_report,
    generate_corpus,
    score,
)

IBAN_LENGTHS = {"DE": 22, "GB": 22, "FR": 27, "ES": 24, "NL": 18, "PL": 28}
STREET = re.compile(
    r"\d+ [A-Z][a-z]+ (Street|St|Road|Rd|Avenue|Ave|Lane|Drive|Dr|Boulevard|Way|Court|Place)"
    r"(, (Apt|Suite|Flat|Unit) \d+[A-F]?)?"
)
EMAIL = re.compile(r"[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+")
PHONE = re.compile(r"\+?[\d().\- ]+")
INVALID_SSN = re.compile(
    r"\b(?:(?:000|666|9\d\d)([- ])\d\d\1\d{4}|\d{3}([- ])00\2\d{4}|\d{3}([- ])\d\d\3 ?0000)\b"
)
DISTRACTOR = re.compile(r"ORD-\d{6}|SKU-\d\d-\d{4}|#\d{5}|[€$£]\d+\.\d\d|\b\d\d:\d\d\b")
BIRTH_CONTEXT = re.compile(r"(DOB|date of birth:?|born on|born|d\.o\.b\.) $", re.IGNORECASE)


@pytest.fixture(scope="module")
def corpus() -> list[LabelledText]:
    return generate_corpus(1000)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def values(corpus: list[LabelledText], entity: str) -> list[str]:
    return [t.text[s.start : s.end] for t in corpus for s in t.spans if s.entity == entity]


def perfect(corpus: list[LabelledText]) -> list[list[Detection]]:
    return [[(s.start, s.end, s.entity) for s in t.spans] for t in corpus]


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_corpus_and_another_seed_differs():
    # given / when two runs with the default seed and one with another seed
    first, second = generate_corpus(200), generate_corpus(200)
    other = generate_corpus(200, seed=7)
    # then
    assert first == second, "same seed and size must give an identical corpus"
    assert first != other, "a different seed must give a different corpus"
    assert generate_corpus(50) == first[:50], "a smaller corpus is a prefix of a larger one"


def test_negative_size_is_rejected():
    # given / when / then
    with pytest.raises(ValueError, match="n must be >= 0"):
        generate_corpus(-1)
    assert generate_corpus(0) == [], "n=0 gives an empty corpus"


def test_spans_are_sorted_non_overlapping_and_within_bounds(corpus):
    # given the default corpus / then every text is one line with well-formed spans
    for item in corpus:
        assert "\n" not in item.text, f"text must be a single line: {item.text!r}"
        previous_end = 0
        for span in item.spans:
            assert span.entity in ENTITY_TYPES, f"unknown entity {span.entity}"
            assert previous_end <= span.start < span.end <= len(item.text), (
                f"span {span} unsorted, overlapping or out of bounds in {item.text!r}"
            )
            value = item.text[span.start : span.end]
            assert value == value.strip(" .,;"), f"span {span} has stray edges: {value!r}"
            previous_end = span.end


def test_labelled_text_rejects_overlapping_spans():
    # given two overlapping spans / when a LabelledText is built / then it is refused
    with pytest.raises(ValueError, match="overlapping"):
        LabelledText("Maria Gonzalez", (Span(0, 8, "PERSON"), Span(6, 14, "PERSON")))


def test_structured_values_have_the_shape_of_their_entity(corpus):
    # given the values under each span
    # then each has its entity's shape and passes its checksum
    for email in values(corpus, "EMAIL_ADDRESS"):
        assert EMAIL.fullmatch(email), f"not an email address: {email!r}"
    for phone in values(corpus, "PHONE_NUMBER"):
        digits = re.sub(r"\D", "", phone)
        assert PHONE.fullmatch(phone) and 9 <= len(digits) <= 13, f"not a phone: {phone!r}"
    for ssn in values(corpus, "US_SSN"):
        assert re.fullmatch(r"\d{3}-\d\d-\d{4}|\d{3} \d\d \d{4}|\d{9}", ssn), f"SSN form: {ssn!r}"
        digits = ssn.replace("-", "").replace(" ", "")
        area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
        assert area not in (0, 666) and area < 900, f"SSN area out of the valid range: {ssn}"
        assert group and serial, f"SSN group or serial is zero: {ssn}"
    for card in values(corpus, "CREDIT_CARD"):
        digits = re.sub(r"[ -]", "", card)
        assert digits.isdigit() and luhn_valid(digits), f"card fails Luhn: {card!r}"
        brand_ok = (
            (digits[0] == "4" and len(digits) == 16)
            or ("51" <= digits[:2] <= "55" and len(digits) == 16)
            or (digits[:2] in ("34", "37") and len(digits) == 15)
        )
        assert brand_ok, f"card is not Visa/Mastercard/Amex shaped: {card!r}"
    for iban in values(corpus, "IBAN_CODE"):
        compact = iban.replace(" ", "")
        assert len(compact) == IBAN_LENGTHS[compact[:2]], f"IBAN has the wrong length: {iban!r}"
        assert iban_valid(compact), f"IBAN fails mod-97: {iban!r}"
    for ip in values(corpus, "IP_ADDRESS"):
        assert ipaddress.ip_address(ip), f"not an IP address: {ip!r}"
    for street in values(corpus, "STREET_ADDRESS"):
        assert STREET.fullmatch(street), f"not a street address: {street!r}"


def test_names_and_birth_dates_are_labelled_without_their_context_words(corpus):
    # given every PERSON and DATE_OF_BIRTH span
    for item in corpus:
        for span in item.spans:
            value = item.text[span.start : span.end]
            if span.entity == "PERSON":
                # then names are capitalised and never include a title
                assert value[0].isupper(), f"name must start upper-case: {value!r}"
                assert not re.match(r"(Mr|Ms|Mrs|Dr)\.", value), f"title inside span: {value!r}"
            if span.entity == "DATE_OF_BIRTH":
                # then a birth-date context sits right before the date, outside the span
                before = item.text[max(0, span.start - 20) : span.start]
                assert BIRTH_CONTEXT.search(before), f"no birth context before {value!r}"
                assert re.search(r"\b(19[4-9]\d|200[0-6])\b", value), f"no birth year: {value!r}"
            if span.entity == "US_SSN" and value.isdigit():
                # then plain nine-digit SSNs only follow the words SSN / social security
                before = item.text[max(0, span.start - 30) : span.start]
                assert re.search(r"SSN|social security", before), f"bare SSN {value!r} unlabelled"


def test_person_mentions_vary_in_style(corpus):
    # given all PERSON values
    names = values(corpus, "PERSON")
    # then all caps, accented, single-token and titled mentions all occur
    caps = sum(name.isupper() for name in names) / len(names)
    assert 0.08 <= caps <= 0.25, f"ALL CAPS share should be ~15%, got {caps:.0%}"
    assert any(not name.isascii() for name in names), "accented names are expected"
    assert any(" " not in name for name in names), "first-name-only mentions are expected"
    titled = [t for t in corpus if re.search(r"\b(Mr|Ms|Mrs|Dr)\. [A-Z]", t.text)]
    assert titled, "'Ms. Lastname' mentions are expected"


def test_every_entity_type_has_balanced_support(corpus):
    # given the default corpus of 1000 texts
    support = Counter(span.entity for item in corpus for span in item.spans)
    # then each type has plenty of ground truth and none dominates
    for entity in ENTITY_TYPES:
        assert support[entity] >= 80, f"{entity} support {support[entity]} is below 80"
    assert max(support.values()) < 1.5 * min(support.values()), f"unbalanced: {support}"
    ipv6 = sum(":" in ip for ip in values(corpus, "IP_ADDRESS")) / support["IP_ADDRESS"]
    assert 0.15 <= ipv6 <= 0.35, f"IPv6 share should be ~25%, got {ipv6:.0%}"


def test_about_a_tenth_of_texts_contain_no_entity(corpus):
    # given / when the share of texts without any span
    empty = sum(not item.spans for item in corpus) / len(corpus)
    # then
    assert 0.06 <= empty <= 0.14, f"share of texts without entities should be ~10%, got {empty}"
    assert all(item.text for item in corpus), "even entity-free texts must have content"


def test_distractors_are_present_and_never_labelled(corpus):
    # given every distractor and invalid SSN in the corpus
    hits = Counter()
    for item in corpus:
        for pattern in (DISTRACTOR, INVALID_SSN):
            for match in pattern.finditer(item.text):
                hits[match.group()[:4] if pattern is DISTRACTOR else "bad SSN"] += 1
                # then no span overlaps it
                overlapping = [
                    s for s in item.spans if s.start < match.end() and match.start() < s.end
                ]
                assert not overlapping, f"distractor {match.group()!r} is labelled in {item.text}"
    assert hits["ORD-"] >= 50, f"order numbers are expected, got {hits}"
    assert hits["SKU-"] >= 50, f"product codes are expected, got {hits}"
    assert hits["bad SSN"] >= 20, f"invalid SSN distractors are expected, got {hits}"


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------

NOTE = LabelledText(
    "Spoke with Maria Gonzalez about ORD-123456, DOB 1980-05-01.",
    (Span(11, 25, "PERSON"), Span(48, 58, "DATE_OF_BIRTH")),
)


def test_perfect_detections_score_one_everywhere(corpus):
    # given detections equal to the ground truth / when scored
    scores = score(corpus, perfect(corpus))
    # then
    for entity in ENTITY_TYPES:
        assert scores[entity].recall == 1.0, f"{entity} recall must be 1.0"
        assert scores[entity].precision == 1.0, f"{entity} precision must be 1.0"


def test_no_detections_give_zero_recall_and_vacuous_precision(corpus):
    # given a detector that finds nothing / when scored
    scores = score(corpus, [[] for _ in corpus])
    # then
    for entity in ENTITY_TYPES:
        assert scores[entity].recall == 0.0, f"{entity} recall must be 0 with no detections"
        assert scores[entity].precision == 1.0, f"{entity} precision is 1.0 with no detections"


def test_half_a_name_is_not_found():
    # given a detection covering only the first name / when scored
    scores = score([NOTE], [[(11, 16, "PERSON")]])
    # then the name is not redacted, so it is not found, but the detection was not a false alarm
    assert scores["PERSON"].found == 0, "half a name must not count as found"
    assert scores["PERSON"].recall == 0.0, "recall must be 0"
    assert scores["PERSON"].precision == 1.0, "the partial detection still overlaps a true span"


def test_recall_uses_the_union_of_detections_of_any_type():
    # given first and last name detected separately, the last under another type
    scores = score([NOTE], [[(11, 16, "PERSON"), (17, 25, "LOCATION")]])
    # then together they cover every non-space character of the name
    assert scores["PERSON"].recall == 1.0, "union of detections covers the whole name"
    assert scores["LOCATION"] == EntityScore("LOCATION", 0, 0, 1, 1), "extra type kept by name"


def test_a_detection_on_a_distractor_lowers_precision():
    # given the name found plus the order number flagged as a phone / when scored
    scores = score([NOTE], [[(11, 25, "PERSON"), (32, 42, "PHONE_NUMBER")]])
    # then
    assert scores["PHONE_NUMBER"].detected == 1, "the phone detection is counted"
    assert scores["PHONE_NUMBER"].precision == 0.0, "a detection on ORD-123456 is a false alarm"
    assert scores["PERSON"].precision == 1.0, "the name detection is correct"


def test_date_time_detections_count_for_date_of_birth():
    # given a generic date detector hit on the birth date / when scored
    scores = score([NOTE], [[(48, 58, "DATE_TIME")]])
    # then it is credited to DATE_OF_BIRTH and not reported separately
    assert scores["DATE_OF_BIRTH"] == EntityScore("DATE_OF_BIRTH", 1, 1, 1, 1), "alias applies"
    assert "DATE_TIME" not in scores, "DATE_TIME must be folded into DATE_OF_BIRTH"


def test_score_rejects_mismatched_or_out_of_bounds_detections():
    # given / when / then
    with pytest.raises(ValueError, match="detection lists"):
        score([NOTE], [])
    with pytest.raises(ValueError, match="outside"):
        score([NOTE], [[(50, 500, "PERSON")]])


def test_report_lists_every_type_and_a_micro_average(corpus):
    # given a detector that finds everything plus one false alarm in an entity-free text
    detections = perfect(corpus)
    empty = next(i for i, item in enumerate(corpus) if not item.spans)
    detections[empty] = [(0, 3, "NRP")]
    # when the report is formatted
    lines = format_report(score(corpus, detections)).splitlines()
    # then every type, the extra type and a micro-average row appear
    for entity in (*ENTITY_TYPES, "NRP"):
        assert any(line.startswith(entity + " ") for line in lines), f"{entity} row missing"
    micro = lines[-1].split()
    assert micro[:2] == ["micro", "avg"], f"last row must be the micro average: {lines[-1]!r}"
    assert micro[3] == "1.000", f"micro recall must be 1.000: {lines[-1]!r}"
    assert float(micro[4]) < 1.0, f"the false alarm must lower micro precision: {lines[-1]!r}"
