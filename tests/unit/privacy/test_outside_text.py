"""Detection on text written elsewhere: each leak and false alarm reported from outside corpora.

Real Presidio recognizers and the real spaCy model, no mocks: every case is the scanner or the
redactor doing what it does in the pipeline.
"""

import pandas as pd
import pytest

from pipeline.privacy.names import middle_initial_names
from pipeline.privacy.policy import PiiPolicy, load_policy
from pipeline.privacy.redactor import Redactor
from pipeline.privacy.scanner import ColumnScanner
from pipeline.settings import DEFAULT_SPACY_MODEL
from tests.helpers import REPO

KEY = b"unit-test-key"
PATTERNS = ["EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS"]


@pytest.fixture(scope="module")
def scanner() -> ColumnScanner:
    return ColumnScanner(
        [*PATTERNS, "PERSON", "STREET_ADDRESS", "LOCATION", "ORGANIZATION", "NRP"],
        spacy_model=DEFAULT_SPACY_MODEL,
    )


def found(scanner: ColumnScanner, text: str) -> list[tuple[str, str]]:
    return [(text[h.start : h.end], h.entity) for h in scanner.scan([text])[0]]


def redacted(scanner: ColumnScanner, text: str) -> str:
    hits = sorted(scanner.scan([text])[0], key=lambda h: -h.start)
    for hit in hits:
        text = text[: hit.start] + f"<{hit.entity}>" + text[hit.end :]
    return text


# --- people ---------------------------------------------------------------------------------


def test_a_name_repeated_in_one_text_is_redacted_at_every_occurrence(scanner):
    # given a text naming the same person twice, once where NER sees a name
    text = "Csanád Szabó called twice. Ana had given Csanád his address."
    # when it is scanned
    out = redacted(scanner, text)
    # then neither occurrence, nor any part of the name, survives
    assert "Csanád" not in out and "Szabó" not in out, out


def test_a_title_of_address_does_not_end_the_sentence_before_its_name(scanner):
    # given a name after a title and its full stop, at the end of the text
    text = "Please have the manager call me, I'd like to join accounts with ms. Ilka."
    # when it is scanned
    out = redacted(scanner, text)
    # then the title is read as the name's cue, not as the end of a sentence
    assert "Ilka" not in out and "ms." in out, out


def test_a_found_name_is_redacted_in_any_case_elsewhere_in_the_text(scanner):
    # given a name written capitalized once and lowercase later
    text = "Spoke with Zebulon Quackenbush today.\nnote: zebulon prefers e-mail"
    # when it is scanned
    out = redacted(scanner, text)
    # then the lowercase mention goes too
    assert "zebulon" not in out.lower(), out


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hi, my name is Sofia and I need help.", "Sofia"),
        ("Name: Sigtryggur Bernharðsson", "Sigtryggur Bernharðsson"),
        ("It is under my partner's name Brodie H Walker.", "Brodie H Walker"),
        ("Full name = dörthe plath\nemail = hk@aol.de", "dörthe plath"),
        ('INFO profile updated name="Beth Johnson" phone=+44 151 496 0731', "Beth Johnson"),
    ],
)
def test_a_name_field_or_phrase_introduces_a_name(scanner, text, name):
    # given a name introduced by a "name" key or phrase
    # when the text is scanned
    hits = found(scanner, text)
    # then the name is a person, whatever its case
    assert (name, "PERSON") in hits, hits


def test_a_name_alone_on_a_signature_line_is_found(scanner):
    # given a letter closing with a lowercase name under "Best regards,"
    text = "Please update my address.\n\nBest regards,\nsigtryggur bernharðsson\n+46 44 48 69 94"
    # when it is scanned
    hits = found(scanner, text)
    # then the signature line is a person
    assert ("sigtryggur bernharðsson", "PERSON") in hits, hits


def test_a_name_under_a_closing_without_a_comma_is_found(scanner):
    # given a letter whose closing stands alone after a blank line, in another language
    text = "Please find the contract attached.\n\nMit freundlichen Grüßen\nfilip havel\nTel: 1"
    # when it is scanned
    hits = found(scanner, text)
    # then the sender's name is a person
    assert ("filip havel", "PERSON") in hits, hits


def test_chat_speaker_labels_are_names(scanner):
    # given a transcript whose speaker labels are names, one lowercase, one behind a role
    text = (
        "Ascensión Verdú Expósito: where is my order?\n"
        "Agent Céline: let me check that for you.\n"
        "Ascensión Verdú Expósito: thanks, it is urgent.\n"
        "romana: hi, I can't log in\n"
        "Customer (leigh bird): hello?"
    )
    # when it is scanned
    hits = found(scanner, text)
    # then every speaker is a person and the role words are not
    for name in ("Ascensión Verdú Expósito", "Céline"):
        assert (name, "PERSON") in hits, (name, hits)
    assert not [h for h in hits if h[0] in ("Agent", "Agent Céline")], hits


def test_a_single_speaker_line_is_still_a_name(scanner):
    # given the one-line chat message from the report
    text = "Ascensión Verdú Expósito: where is my order?"
    # when it is scanned
    out = redacted(scanner, text)
    # then the name is gone and the question stays
    assert out == "<PERSON>: where is my order?", out


def test_a_form_key_naming_a_role_introduces_a_name(scanner):
    # given a key-value form whose customer is written in lowercase
    text = "Customer = adrien lemoine\nTel. = +33 5 19 96 86 83"
    # when it is scanned
    hits = found(scanner, text)
    # then the customer's name is a person
    assert ("adrien lemoine", "PERSON") in hits, hits


def test_names_listed_with_a_found_name_are_names(scanner):
    # given founders listed together, one of them a name NER knows
    text = "The company is the brainchild of our 3 founders: Aslakhanov, Saunders and John Smith."
    # when it is scanned
    out = redacted(scanner, text)
    # then every listed founder is redacted
    for name in ("Aslakhanov", "Saunders", "John", "Smith"):
        assert name not in out, (name, out)


@pytest.mark.parametrize(
    "text",
    [
        "What is the limit for card ending 1234?",
        "Hi, My account is locked.",
        "This is urgent, please call back.",
    ],
)
def test_function_words_opening_a_sentence_are_not_names(scanner, text):
    # given a sentence opened by a function word that a person cue follows
    # when it is scanned
    hits = found(scanner, text)
    # then no person is found
    assert not [h for h in hits if h[1] == "PERSON"], hits


# --- cards, e-mails, phones -----------------------------------------------------------------


@pytest.mark.parametrize(
    "card",
    [
        "2221 0012 3456 7896",  # Mastercard 2-series
        "2720-9988-7766-5547",
        "4111111111111111110",  # 19-digit Visa
        "4111 1111 1111 1111 110",
    ],
)
def test_any_luhn_valid_run_of_13_to_19_digits_is_a_card(scanner, card):
    # given a Luhn-valid number right after the word "card"
    text = f"Please charge my card {card} today."
    # when it is scanned
    hits = found(scanner, text)
    # then the whole number is one card, not a phone
    assert hits == [(card, "CREDIT_CARD")], hits


def test_a_luhn_invalid_run_is_not_a_card(scanner):
    # given a 16-digit number that fails the Luhn check
    hits = found(scanner, "Reference 4111 1111 1111 1112 attached.")
    # then it is not a card
    assert not [h for h in hits if h[1] == "CREDIT_CARD"], hits


@pytest.mark.parametrize(
    "email", ["j.doe@corp.local", "j.doe@hr.internal", "zeb.quack77@quackmail.example"]
)
def test_emails_on_domains_outside_the_public_suffix_list_are_found(scanner, email):
    # given an address on an internal or reserved domain
    hits = found(scanner, f"Write to {email} for the invoice.")
    # then it is one e-mail address
    assert hits == [(email, "EMAIL_ADDRESS")], hits


def test_a_phone_never_spans_two_lines_and_timestamps_are_not_phones(scanner):
    # given a log whose lines start with timestamps and end with a phone
    text = "11.08.2025 16:05 INFO updated phone=535 228 042\n11.08.2025 20:11 ERROR rejected"
    # when it is scanned
    hits = found(scanner, text)
    # then the phone is found alone and no timestamp is a phone
    assert hits == [("535 228 042", "PHONE_NUMBER")], hits


def test_a_number_said_to_be_a_phone_is_one_even_outside_known_plans(scanner):
    # given a number no default region's numbering plan accepts, after "Tel:"
    hits = found(scanner, "Tel: 00226606631\nRef 00226606631")
    # then the one with the context is a phone, the other is not
    assert hits == [("00226606631", "PHONE_NUMBER")], hits


def test_a_lowercase_iban_is_found(scanner):
    hits = found(scanner, "my iban is gb97lvxg16938290992553")
    assert ("gb97lvxg16938290992553", "IBAN_CODE") in hits, hits


def test_a_phone_with_an_extension_is_one_phone(scanner):
    hits = found(scanner, "Call 414-842-5033x0804 after six.")
    assert hits == [("414-842-5033x0804", "PHONE_NUMBER")], hits


# --- street addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Ship to 97, avenue André Lagarde, 75012 Paris.", "97, avenue André Lagarde"),
        ("Address: Strojírenská 1006, Suite 026", "Strojírenská 1006, Suite 026"),
        ("Hauptstraße 12, 10115 Berlin", "Hauptstraße 12"),
        ("I live at 35735 Lauren Falls.", "35735 Lauren Falls"),
        ("Send it to 221 Baker Street, Apt 4B please", "221 Baker Street, Apt 4B"),
        ("Calle Mayor 5, 28013 Madrid", "Calle Mayor 5"),
        ("Váradi utca 146.\nH-1637 Debrecen", "Váradi utca 146"),
        ("We meet at Lysogene SA, P.O. Box 191, Kulusuk", "P.O. Box 191"),
    ],
)
def test_street_addresses_in_international_forms(scanner, text, address):
    # given an address written with the number after the name, a comma, a unit or a prefix
    # when it is scanned
    spans = [(value, entity) for value, entity in found(scanner, text)]
    # then one address hit covers the street line
    assert any(entity == "STREET_ADDRESS" and address in value for value, entity in spans), spans


def test_a_multi_line_address_block_is_one_address(scanner):
    # given a street line followed by its city line
    text = "I live at 35735 Lauren Falls\nNorth Amy, NV 12345\nThanks!"
    # when it is scanned
    hits = found(scanner, text)
    # then the block is one address
    assert ("35735 Lauren Falls\nNorth Amy, NV 12345", "STREET_ADDRESS") in hits, hits


@pytest.mark.parametrize(
    "text",
    [
        "I have 2 Premium accounts with you.",
        "I moved 2 Premium accounts to the new plan.",
        "Delivered on 12 March 2024.",
        "In 2019 John Smith moved to Berlin.",
        "Windows 10, Office 365 and Chapter 5, Section 2.",
    ],
)
def test_numbers_next_to_capitalized_words_are_not_addresses(scanner, text):
    # given counts, dates and versions beside capitalized words
    hits = found(scanner, text)
    # then none is an address
    assert not [h for h in hits if h[1] == "STREET_ADDRESS"], hits


# --- places, organizations, nationalities, and what a policy allows -------------------------


def test_places_organizations_and_nationalities_are_found_with_their_own_types(scanner):
    # given a text naming places, a company and a nationality after person cues
    text = "I moved from Germany to Berlin, I work for Siemens and I am Hungarian."
    # when it is scanned
    hits = found(scanner, text)
    # then each is redacted, and a preposition cue does not make a country a person
    assert ("Germany", "LOCATION") in hits and ("Berlin", "LOCATION") in hits, hits
    assert ("Siemens", "ORGANIZATION") in hits, hits
    assert "Hungarian" in [value for value, _ in hits], hits


def policy_with(notes: dict) -> PiiPolicy:
    return PiiPolicy.model_validate(
        {
            "source": "people",
            "columns": {
                "name": {"action": "drop", "entity": "PERSON"},
                "country": {"action": "keep"},
                "plan": {"action": "keep"},
                "postcode": {"action": "generalize", "to": "prefix"},
                "notes": notes,
            },
        }
    )


NOTES = {
    "action": "scan",
    "entities": ["PERSON", "LOCATION", "ORGANIZATION", "NRP"],
    "redact_row_values_from": ["name"],
}


def test_values_of_allowed_columns_are_never_redacted_in_text():
    # given notes naming the dataset's own country, and another place
    frame = pd.DataFrame(
        {
            "name": ["Ana Silva", "Jo Park"],
            "country": ["Germany", "France"],
            "plan": ["Premium", "Basic"],
            "postcode": ["10115", "75001"],
            "notes": ["Moved from Germany to Berlin.", "Wants to move to France."],
        }
    )
    policy = policy_with({**NOTES, "allow_values_from": ["country", "plan"]})
    # when the frame is redacted
    out, _ = Redactor(policy, KEY, DEFAULT_SPACY_MODEL).redact(frame)
    # then the country values (of any row) stay and the city goes
    assert out["notes"].tolist() == [
        "Moved from Germany to <LOCATION>.",
        "Wants to move to France.",
    ]


def test_allowed_columns_must_exist_and_be_kept():
    # given policies allowing an unknown column and a generalized one
    # when they are validated
    # then both are refused with the column named
    with pytest.raises(ValueError, match="unknown columns"):
        policy_with({**NOTES, "allow_values_from": ["city"]})
    with pytest.raises(ValueError, match="postcode"):
        policy_with({**NOTES, "allow_values_from": ["postcode"]})


def test_the_rows_own_name_is_redacted_in_any_case():
    # given a row whose own full name appears lowercase in its notes
    frame = pd.DataFrame(
        {
            "name": ["Zebulon Quackenbush"],
            "country": ["US"],
            "plan": ["Basic"],
            "postcode": ["10115"],
            "notes": ["this is zebulon quackenbush writing, zebulon again"],
        }
    )
    # when the frame is redacted
    out, _ = Redactor(policy_with(NOTES), KEY, DEFAULT_SPACY_MODEL).redact(frame)
    # then no part of the name is left
    assert "zebulon" not in out["notes"].iloc[0].lower(), out["notes"].iloc[0]
    assert "quackenbush" not in out["notes"].iloc[0].lower(), out["notes"].iloc[0]


@pytest.mark.parametrize("source", ["customers", "encounters"])
def test_the_shipped_policies_scan_places_and_allow_their_own_values(source):
    # given the policies shipped with the template
    policy = load_policy(REPO / "policies" / f"{source}.yaml")
    # when their free-text rules are read
    rules = [r for r in policy.columns.values() if r.action == "scan"]
    # then places are scanned and some kept column's values are allowed
    assert rules, f"{source} has no scan rule"
    for rule in rules:
        assert "LOCATION" in rule.entities, rule.entities
        assert rule.allow_values_from, f"{source}: no allow_values_from"


# --- structure as a name's cue, and short or grouped phone numbers ---------------------------


def test_a_speaker_label_in_the_slot_of_named_speakers_is_a_name(scanner):
    # given a transcript where NER knows two speakers and not the third (made-up names)
    text = (
        "Margaret: Where were you last night?\n"
        "Zorvekka: Out with the others, as I told you.\n"
        "Thomas: Nobody believes that story."
    )
    # when it is scanned
    hits = found(scanner, text)
    # then the third label is a person too, because it stands where the others do
    assert ("Zorvekka", "PERSON") in hits, hits


def test_labels_of_everyday_words_and_form_lines_are_not_made_names(scanner):
    # given notes whose lines start with keys, beside a named speaker, and a form
    notes = "Update: refund issued today\nStatus: waiting on the bank\nAgent Maria Lopez: closed"
    form = "Name: Quorra Velt\nDate: 2024-05-01"
    # when they are scanned
    note_hits = found(scanner, notes)
    form_hits = found(scanner, form)
    # then no key is a person
    assert not [h for h in note_hits if h[0] in ("Update", "Status")], note_hits
    assert not [h for h in form_hits if h[0] == "Date"], form_hits


def test_a_name_with_a_middle_initial_is_a_name(scanner):
    # given made-up names written given name, initial, surname, with and without a dot
    for name in ("Qamile R. Torvenn", "Ysolde K Marrabek"):
        text = f"The report was filed by {name} yesterday."
        # when it is scanned
        hits = found(scanner, text)
        # then the whole name is one person
        assert (name, "PERSON") in hits, (name, hits)


def test_capitalized_words_around_a_letter_are_not_a_name_by_their_shape():
    # given everyday words around a capital letter, and the pronoun "I"
    text = "Then I Went to see Plan B Options and Vitamin D Sales."
    # when the shape rule reads it (NER may still call one of them a person: its own call)
    found_spans = middle_initial_names(text)
    # then none of them has a name's shape
    assert found_spans == [], [text[a:b] for a, b in found_spans]


def test_the_first_line_of_a_contact_card_is_a_name(scanner):
    # given a made-up contact card: a name line, a company, then phone and e-mail fields
    text = "Velmira Oskarrud\nNorthwind Quarry Ltd.\nMobile: +44 20 7946 0958\nE-mail: vo@x.example"
    # when it is scanned
    hits = found(scanner, text)
    # then the first line is a person
    assert ("Velmira Oskarrud", "PERSON") in hits, hits


@pytest.mark.parametrize(
    "phone", ["01.43.93.58.85", "52-28-62-17", "(07700)521437", "(07700) 590794"]
)
def test_grouped_phones_are_not_mistaken_for_dates(scanner, phone):
    # given phone numbers in groups whose first three groups look like a date
    hits = found(scanner, f"Phone: {phone}")
    # then each is one phone number
    assert hits == [(phone, "PHONE_NUMBER")], hits


def test_a_six_digit_phone_is_one_only_where_the_text_says_phone(scanner):
    # given a short national number after "call", the same digits as an order, a date, an IP
    said = found(scanner, "You can call 41 57 93 after six")
    unsaid = found(scanner, "Box 41 57 93 arrived; called on 12.05.24 from 10.1.2.3")
    # then only the one called a phone is a phone
    assert said == [("41 57 93", "PHONE_NUMBER")], said
    assert not [h for h in unsaid if h[1] == "PHONE_NUMBER"], unsaid
