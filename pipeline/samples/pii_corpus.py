"""A labelled synthetic corpus for measuring PII detection per entity type.

Redaction is only as good as the detector behind it, and "it found the name in my example" says
nothing about recall on Łukasz, ALL-CAPS names, Amex cards or compressed IPv6. This module writes
short CRM-style support notes with exact ground-truth character spans, plus distractors that look
like PII but are not (order numbers, SKUs, amounts, delivery dates, invalid SSNs), and scores any
detector's output against them: recall per entity type (privacy-oriented: was every character of
the value covered?) and precision (did the detector flag something that is not PII?).

Texts are assembled piece by piece while counting offsets, so spans are exact by construction (and
asserted). Everything is drawn from one seeded ``random.Random`` in a fixed order and no wall clock
is read, so the same seed and size give the identical corpus, and a smaller corpus is a prefix of
a larger one with the same seed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from random import Random

from pipeline.samples.common import (
    ascii_fold,
    card_renderings,
    date_renderings,
    luhn_check_digit,
    random_ordinal,
    weighted,
)

DEFAULT_SEED = 4242
ENTITY_TYPES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
)
# Detector entity names that should earn credit for one of ours before grouping.
DETECTION_ALIASES = {"DATE_TIME": "DATE_OF_BIRTH"}

Detection = tuple[int, int, str]  # (start, end, entity) detected in one text

# How many entities a text carries: ~10% none, the rest one to three.
ENTITY_COUNT_WEIGHTS = ((0, 10), (1, 30), (2, 35), (3, 25))
MAX_SENTENCES = 3
PAIR_RATE = 0.4  # chance a PERSON shares a sentence with another entity, when a template exists
FILLER_RATE = 0.5  # chance of an extra distractor-only sentence when there is room

# Shares of PERSON mention styles; ALL CAPS ~15% as in exported legacy CRM fields.
PERSON_STYLES = (("full", 55), ("caps", 15), ("first", 15), ("title", 15))
TITLES = ("Mr.", "Ms.", "Mrs.", "Dr.")

# (first names, last names) per culture; a mention pairs names from one culture.
NAME_POOLS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    # English
    (("James", "Mary", "Emily", "Thomas", "Sarah", "Zoë", "Oliver", "Chloe"),
     ("Smith", "Johnson", "Taylor", "Clarke", "Evans", "O'Neill", "Whitfield", "Brown")),
    # Spanish
    (("José", "María", "Lucía", "Javier", "Carmen", "Alejandro", "Inés"),
     ("García", "Martínez", "Gonzalez", "Rodríguez", "Fernández", "López", "Muñoz")),
    # German
    (("Jürgen", "Lena", "Matthias", "Sabine", "Lukas", "Zoë", "Jörg"),
     ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Schäfer", "Becker")),
    # French
    (("Amélie", "François", "Céline", "Hélène", "Benoît", "Chloé", "Léa"),
     ("Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Rousseau", "Fontaine")),
    # Polish
    (("Łukasz", "Agnieszka", "Katarzyna", "Paweł", "Małgorzata", "Wojciech"),
     ("Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kamińska", "Zieliński")),
    # Vietnamese
    (("Minh", "Thảo", "Linh", "Quang", "Huy", "Trang"),
     ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng")),
    # Nigerian
    (("Chinedu", "Ngozi", "Oluwaseun", "Adaeze", "Emeka", "Folake"),
     ("Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Nwosu")),
    # Indian
    (("Priya", "Arjun", "Ananya", "Rohan", "Kavya", "Vikram"),
     ("Raman", "Sharma", "Patel", "Iyer", "Reddy", "Nair")),
    # Japanese
    (("Kenji", "Haruto", "Yui", "Sakura", "Takeshi", "Aiko"),
     ("Watanabe", "Sato", "Suzuki", "Takahashi", "Tanaka", "Yamamoto")),
    # Arabic (romanized)
    (("Ahmed", "Fatima", "Omar", "Layla", "Youssef", "Mariam"),
     ("Khan", "Al-Sayed", "Haddad", "Mansour", "Khalil", "El-Amin")),
    # Chinese (pinyin)
    (("Wei", "Fang", "Jing", "Hao", "Xiaoming", "Yan"),
     ("Wang", "Li", "Zhang", "Liu", "Chen", "Huang")),
)  # fmt: skip

# Reserved example domains (RFC 2606 and the UK's example.co.uk): clearly fake, still parseable.
EMAIL_DOMAINS = (
    "example.com", "example.org", "example.net", "mail.example.com", "mail.example.co.uk",
    "inbox.example.org", "support.example.net", "shop.example.com", "example.co.uk",
)  # fmt: skip
EMAIL_TAGS = ("shop", "orders", "news", "promo", "billing")
EMAIL_WORDS = ("buyer", "customer", "happy.shopper", "info", "contact", "deals", "home.office")

# US area codes for the reserved 555-01xx fiction block.
US_AREA_CODES = ("415", "212", "312", "206", "512", "617")

STREET_NAMES = (
    "Baker", "Maple", "Oak", "Harbour", "Station", "Church", "Mill", "Victoria", "King", "Queen",
    "High", "Park", "Elm", "Cedar", "Meadow", "Willow", "Chestnut", "Orchard", "Bridge", "Market",
)  # fmt: skip
STREET_TYPES = (
    "Street", "St", "Road", "Rd", "Avenue", "Ave", "Lane", "Drive", "Dr", "Boulevard", "Way",
    "Court", "Place",
)  # fmt: skip
UNIT_WORDS = ("Apt", "Suite", "Flat", "Unit")

# Date styles (names from pipeline.samples.common.date_renderings), drawn uniformly: ISO,
# dotted, US m/d/Y, Y/m/d and the spelled-out month both ways round (locale-free names).
DATE_STYLES = ("iso", "dotted", "us", "slashed", "long", "long_us")
BIRTH_START = date(1940, 1, 1)
BIRTH_END = date(2006, 12, 31)
# Ordinary (non-birth) dates in notes: deliveries, refunds. Fixed, never the wall clock.
EVENT_START = date(2023, 1, 1)
EVENT_END = date(2026, 6, 30)

# Public-looking first octets (no RFC 1918, loopback, CGNAT or multicast ranges).
IPV4_FIRST_OCTETS = (23, 31, 46, 62, 77, 81, 90, 95, 104, 151, 176, 185, 203, 212, 217)
IPV6_PREFIXES = ("2001:db8", "2a02:8108", "2a01:4f8", "2600:1f18", "2003:e8")
IPV6_RATE = 0.25
PRIVATE_IPV4_RATE = 0.25

# IBAN layouts: country -> BBAN pieces as (kind, length); "n" digits, "a" upper-case letters.
IBAN_LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    "DE": (("n", 8), ("n", 10)),
    "GB": (("a", 4), ("n", 6), ("n", 8)),
    "FR": (("n", 5), ("n", 5), ("n", 11)),  # + 2-digit RIB key, computed
    "ES": (("n", 4), ("n", 4), ("n", 10)),  # + 2 control digits before the account, computed
    "NL": (("a", 4), ("n", 10)),
    "PL": (("n", 24),),
}
IBAN_LENGTHS = {"DE": 22, "GB": 22, "FR": 27, "ES": 24, "NL": 18, "PL": 28}
ES_CONTROL_WEIGHTS = (1, 2, 4, 8, 5, 10, 9, 7, 3, 6)

# Card brands: (prefixes, length). Amex is 15 digits, printed 4-6-5.
CARD_BRANDS = ((("4",), 16), (("51", "52", "53", "54", "55"), 16), (("34", "37"), 15))
CARD_STYLES = (("spaced", 40), ("dashed", 20), ("plain", 40))

SSN_STYLES = (("dashed", 60), ("spaced", 30), ("plain", 10))

# Sentence templates. Upper-case placeholders are labelled entities; lower-case ones are
# distractors that must stay unlabelled. Every US_SSN placeholder directly follows "SSN" or
# "social security ...", which is what makes the plain nine-digit form identifiable at all.
SINGLE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "PERSON": (
        "Customer {PERSON} called about {order}.",
        "Spoke with {PERSON} about the refund of {amount}.",
        "{PERSON} requested a callback after {time}.",
        "Ticket {ticket} escalated to {PERSON}.",
        "{PERSON} confirmed the replacement for {sku}.",
        "Left a voicemail for {PERSON}, will retry tomorrow.",
        "Account holder is {PERSON}; no changes made.",
        "Chat transcript: {PERSON} asked why {order} is delayed.",
        "Per {PERSON}, the parcel was left with a neighbour.",
    ),
    "EMAIL_ADDRESS": (
        "Asked to update email to {EMAIL_ADDRESS}.",
        "Sent password reset link to {EMAIL_ADDRESS} at {time}.",
        "Invoice for {order} bounced from {EMAIL_ADDRESS}.",
        "Customer writes from {EMAIL_ADDRESS} about {sku}.",
        "Please cc {EMAIL_ADDRESS} on future replies.",
        "New contact address: {EMAIL_ADDRESS}.",
    ),
    "PHONE_NUMBER": (
        "Requested a callback on {PHONE_NUMBER} after {time}.",
        "Best number is {PHONE_NUMBER}.",
        "Called back on {PHONE_NUMBER}, no answer after {count} attempts.",
        "Mobile changed to {PHONE_NUMBER} per chat {ticket}.",
        "Tel: {PHONE_NUMBER} (mobile).",
    ),
    "US_SSN": (
        "SSN {US_SSN} on file.",
        "Customer provided social security number {US_SSN} for the credit check.",
        "Verified SSN: {US_SSN} before discussing {order}.",
        "Tax form shows SSN {US_SSN}; ref {badssn} is the old case id.",
        "Caller read out their social security {US_SSN} twice.",
    ),
    "CREDIT_CARD": (
        "Charged twice on card {CREDIT_CARD} for {order}.",
        "Card {CREDIT_CARD} declined, advised to retry.",
        "Asked to remove {CREDIT_CARD} from the account.",
        "Payment of {amount} taken from card number {CREDIT_CARD}.",
        "Chargeback opened for {CREDIT_CARD} ({ticket}).",
    ),
    "IBAN_CODE": (
        "Refund of {amount} to be sent to IBAN {IBAN_CODE}.",
        "Updated direct debit account to {IBAN_CODE}.",
        "Customer's bank details: {IBAN_CODE}.",
        "SEPA mandate for {IBAN_CODE} cancelled per {ticket}.",
        "IBAN {IBAN_CODE} rejected by the bank, asked for a new one.",
    ),
    "IP_ADDRESS": (
        "Login attempts from {IP_ADDRESS} flagged by fraud check.",
        "Order {order} placed from IP {IP_ADDRESS} at {time}.",
        "Blocked {IP_ADDRESS} after {count} failed logins.",
        "Session IP was {IP_ADDRESS}.",
        "Password reset requested from {IP_ADDRESS}.",
    ),
    "STREET_ADDRESS": (
        "Customer moved, new address is {STREET_ADDRESS}.",
        "Parcel for {order} returned from {STREET_ADDRESS}.",
        "Lives at {STREET_ADDRESS}, delivery on {date}.",
        "Billing address updated to {STREET_ADDRESS}.",
        "Courier could not find {STREET_ADDRESS}, {count} attempts so far.",
    ),
    "DATE_OF_BIRTH": (
        "Verified identity with DOB {DATE_OF_BIRTH}.",
        "Customer gave date of birth: {DATE_OF_BIRTH} for the age check.",
        "Caller says she was born on {DATE_OF_BIRTH}.",
        "Account holder born {DATE_OF_BIRTH}, details match.",
        "d.o.b. {DATE_OF_BIRTH} confirmed over the phone.",
        "Date of birth {DATE_OF_BIRTH} does not match our records.",
    ),
}
# PERSON plus one other entity in a single sentence, as agents often write.
PAIR_TEMPLATES: dict[str, tuple[str, ...]] = {
    "EMAIL_ADDRESS": ("{PERSON} asked to update the email to {EMAIL_ADDRESS}.",),
    "PHONE_NUMBER": ("{PERSON} requested a callback on {PHONE_NUMBER}.",),
    "STREET_ADDRESS": ("Customer {PERSON} moved to {STREET_ADDRESS}.",),
    "DATE_OF_BIRTH": ("Verified {PERSON} with DOB {DATE_OF_BIRTH}.",),
    "CREDIT_CARD": ("{PERSON} disputes a charge of {amount} on card {CREDIT_CARD}.",),
    "IBAN_CODE": ("Refund for {PERSON} goes to IBAN {IBAN_CODE}.",),
}
FILLER_TEMPLATES = (
    "Refund of {amount} issued for {order}.",
    "Replacement {sku} shipped, delivery on {date}.",
    "Ticket {ticket} closed at {time}.",
    "Applied a {pct} discount to {order}.",
    "Customer asked about stock of {sku}; {count} units left.",
    "Ref {badssn} quoted by the caller does not match any account.",
    "Order {order} delayed, new delivery date {date}.",
    "Called at {time} about {order}, resolved.",
    "Wants to cancel, unhappy with the {pct} price increase.",
    "No further action needed.",
)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A ground-truth entity: text[start:end] (end exclusive)."""

    start: int
    end: int
    entity: str


@dataclass(frozen=True)
class LabelledText:
    """One note and its entities; spans are sorted by start and never overlap."""

    text: str
    spans: tuple[Span, ...]

    def __post_init__(self) -> None:
        """Reject malformed labels early: scoring silently depends on these invariants."""
        previous_end = 0
        for span in self.spans:
            if not previous_end <= span.start < span.end <= len(self.text):
                raise ValueError(f"span {span} is empty, unsorted, overlapping or out of bounds")
            previous_end = span.end


@dataclass(frozen=True)
class EntityScore:
    """Counts behind one entity type's recall and precision."""

    entity: str
    support: int  # ground-truth spans of this type
    found: int  # of those, fully covered by detected spans (any detected type)
    detected: int  # detected spans labelled with this type (after DETECTION_ALIASES)
    correct: int  # of those detected spans, how many overlap a ground-truth span (any type)

    @property
    def recall(self) -> float:
        """found / support; nothing to find counts as perfect."""
        return self.found / self.support if self.support else 1.0

    @property
    def precision(self) -> float:
        """correct / detected; no detections means no false alarms."""
        return self.correct / self.detected if self.detected else 1.0


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _digits(rng: Random, count: int) -> str:
    """count random decimal digits (leading zeros allowed)."""
    return "".join(str(rng.randrange(10)) for _ in range(count))


def _letters(rng: Random, count: int) -> str:
    """count random upper-case ASCII letters."""
    return "".join(chr(ord("A") + rng.randrange(26)) for _ in range(count))


def _iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits: 98 minus (BBAN + country + "00" as a number) mod 97."""
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def _es_control_digit(ten_digits: str) -> str:
    """One Spanish CCC control digit over ten digits (11 -> 0, 10 -> 1)."""
    value = 11 - sum(int(d) * w for d, w in zip(ten_digits, ES_CONTROL_WEIGHTS, strict=True)) % 11
    return {11: "0", 10: "1"}.get(value, str(value))


# --------------------------------------------------------------------------------------------
# Entity values: each returns (text, entity or None) segments so a title stays unlabelled
# --------------------------------------------------------------------------------------------

Segments = list[tuple[str, str | None]]


def _name(rng: Random) -> tuple[str, str]:
    """First and last name from one culture."""
    firsts, lasts = rng.choice(NAME_POOLS)
    return rng.choice(firsts), rng.choice(lasts)


def _person(rng: Random) -> Segments:
    """Full, ALL CAPS, first-only or 'Ms. Lastname' (only the name is labelled)."""
    first, last = _name(rng)
    style = weighted(rng, PERSON_STYLES)
    if style == "caps":
        return [(f"{first} {last}".upper(), "PERSON")]
    if style == "first":
        return [(first, "PERSON")]
    if style == "title":
        return [(f"{rng.choice(TITLES)} ", None), (last, "PERSON")]
    return [(f"{first} {last}", "PERSON")]


def _email(rng: Random) -> Segments:
    """Name-derived or generic local parts with dots, digits and plus tags on example domains."""
    first, last = (ascii_fold(part) for part in _name(rng))
    pattern = rng.randrange(7)
    if pattern == 0:
        local = f"{first}.{last}"
    elif pattern == 1:
        local = f"{first[0]}{last}"
    elif pattern == 2:
        local = f"{first}_{last}{rng.randrange(10, 100)}"
    elif pattern == 3:
        local = f"{first}.{last}+{rng.choice(EMAIL_TAGS)}"
    elif pattern == 4:
        local = f"{last}.{first[0]}{rng.randrange(1950, 2006)}"
    elif pattern == 5:
        local = f"{rng.choice(EMAIL_WORDS)}{rng.randrange(1, 10000)}"
    else:
        local = f"{rng.choice(EMAIL_WORDS)}+{rng.choice(EMAIL_TAGS)}"
    return [(f"{local}@{rng.choice(EMAIL_DOMAINS)}", "EMAIL_ADDRESS")]


# Phone renderings, one per kind. Each gets the rng and a US number in the 555-01xx fiction block,
# drawn for every kind (so the draws stay in a fixed order); UK and FR use their drama ranges.
PHONE_FORMATS: tuple[Callable[[Random, str], str], ...] = (
    lambda rng, us: f"+1 {us}",
    lambda rng, us: f"({us[:3]}) {us[4:]}",
    lambda rng, us: us.replace("-", "."),
    lambda rng, us: f"+44 20 7946 0{_digits(rng, 3)}",
    lambda rng, us: f"020 7946 0{_digits(rng, 3)}",
    lambda rng, us: f"07700 900{_digits(rng, 3)}",
    lambda rng, us: f"+44 161 496 0{_digits(rng, 3)}",
    lambda rng, us: f"+49 30 {rng.randrange(100000, 1000000)}",
    lambda rng, us: f"030 {rng.randrange(100000, 1000000)}",
    lambda rng, us: f"+33 1 99 00 {_digits(rng, 2)} {_digits(rng, 2)}",
    lambda rng, us: f"01 99 00 {_digits(rng, 2)} {_digits(rng, 2)}",
    lambda rng, us: f"+34 91{rng.randrange(10)} {_digits(rng, 3)} {_digits(rng, 3)}",
    lambda rng, us: f"+48 22 {_digits(rng, 3)} {_digits(rng, 2)} {_digits(rng, 2)}",
    lambda rng, us: f"+91 9{_digits(rng, 4)} {_digits(rng, 5)}",
    lambda rng, us: f"+33 6 39 98 {_digits(rng, 2)} {_digits(rng, 2)}",
)


def _phone(rng: Random) -> Segments:
    """National formats; US, UK and FR numbers come from their fiction-reserved ranges."""
    kind = rng.randrange(len(PHONE_FORMATS))
    us = f"{rng.choice(US_AREA_CODES)}-555-01{_digits(rng, 2)}"
    return [(PHONE_FORMATS[kind](rng, us), "PHONE_NUMBER")]


def _ssn(rng: Random) -> Segments:
    """Valid-range SSN: area 001-665 or 667-899, group 01-99, serial 0001-9999."""
    area = rng.randrange(1, 899)
    area = area + 1 if area >= 666 else area  # skip 666, stay within 001-899
    group, serial = rng.randrange(1, 100), rng.randrange(1, 10000)
    style = weighted(rng, SSN_STYLES)
    separator = {"dashed": "-", "spaced": " ", "plain": ""}[style]
    return [(f"{area:03d}{separator}{group:02d}{separator}{serial:04d}", "US_SSN")]


def _card(rng: Random) -> Segments:
    """Luhn-valid Visa, Mastercard or Amex, printed spaced, dashed or plain."""
    prefixes, length = rng.choice(CARD_BRANDS)
    prefix = rng.choice(prefixes)
    body = prefix + _digits(rng, length - len(prefix) - 1)
    renderings = card_renderings(body + luhn_check_digit(body))
    return [(renderings[weighted(rng, CARD_STYLES)], "CREDIT_CARD")]


def _bban(rng: Random, country: str) -> str:
    """A BBAN of the country's layout, with the French and Spanish national checks computed."""
    pieces = [
        _digits(rng, length) if kind == "n" else _letters(rng, length)
        for kind, length in IBAN_LAYOUTS[country]
    ]
    if country == "FR":
        bank, branch, account = (int(piece) for piece in pieces)
        pieces.append(f"{97 - (89 * bank + 15 * branch + 3 * account) % 97:02d}")
    elif country == "ES":
        bank, branch, account = pieces
        control = _es_control_digit(f"00{bank}{branch}") + _es_control_digit(account)
        pieces = [bank, branch, control, account]
    return "".join(pieces)


def _iban(rng: Random) -> Segments:
    """A checksum-valid IBAN, compact or in space-separated groups of four."""
    country = rng.choice(tuple(IBAN_LAYOUTS))
    bban = _bban(rng, country)
    iban = f"{country}{_iban_check_digits(country, bban)}{bban}"
    assert len(iban) == IBAN_LENGTHS[country], iban
    if rng.random() < 0.5:
        iban = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return [(iban, "IBAN_CODE")]


def _ipv6(rng: Random) -> str:
    """IPv6 with a run of zero groups, rendered fully, without leading zeros, or compressed."""
    prefix = rng.choice(IPV6_PREFIXES).split(":")
    groups = [int(group, 16) for group in prefix]
    groups += [rng.randrange(1, 0x10000) for _ in range(8 - len(groups))]
    run = rng.randrange(0, 4)
    start = rng.randrange(len(prefix), 8 - run + 1)
    groups[start : start + run] = [0] * run
    address = ipaddress.IPv6Address(":".join(f"{group:x}" for group in groups))
    style = rng.randrange(3)
    if style == 0:
        return address.exploded
    if style == 1:
        return ":".join(f"{group:x}" for group in groups)
    return address.compressed


def _ip(rng: Random) -> Segments:
    """Public-looking IPv4, some private 10.x / 192.168.x, and ~25% IPv6."""
    if rng.random() < IPV6_RATE:
        return [(_ipv6(rng), "IP_ADDRESS")]
    host = rng.randrange(1, 255)
    if rng.random() < PRIVATE_IPV4_RATE:
        if rng.random() < 0.5:
            address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{host}"
        else:
            address = f"192.168.{rng.randrange(256)}.{host}"
    else:
        first = rng.choice(IPV4_FIRST_OCTETS)
        address = f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{host}"
    return [(address, "IP_ADDRESS")]


def _street(rng: Random) -> Segments:
    """'221 Baker Street', sometimes with ', Apt 2B' / ', Suite 210' (inside the span)."""
    street = f"{rng.randrange(1, 1000)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_TYPES)}"
    if rng.random() < 0.3:
        unit = rng.choice(UNIT_WORDS)
        number = rng.randrange(100, 1000) if unit == "Suite" else rng.randrange(1, 40)
        letter = rng.choice("ABCDEF") if unit in ("Apt", "Flat") and rng.random() < 0.6 else ""
        street += f", {unit} {number}{letter}"
    return [(street, "STREET_ADDRESS")]


def _format_date(rng: Random, ordinal: int) -> str:
    """One of DATE_STYLES, drawn uniformly with a single randrange."""
    return date_renderings(ordinal)[DATE_STYLES[rng.randrange(len(DATE_STYLES))]]


def _date_of_birth(rng: Random) -> Segments:
    """A birth date; the template supplies the context words (DOB, born on...), unlabelled."""
    return [(_format_date(rng, random_ordinal(rng, BIRTH_START, BIRTH_END)), "DATE_OF_BIRTH")]


ENTITY_MAKERS: dict[str, Callable[[Random], Segments]] = {
    "PERSON": _person,
    "EMAIL_ADDRESS": _email,
    "PHONE_NUMBER": _phone,
    "US_SSN": _ssn,
    "CREDIT_CARD": _card,
    "IBAN_CODE": _iban,
    "IP_ADDRESS": _ip,
    "STREET_ADDRESS": _street,
    "DATE_OF_BIRTH": _date_of_birth,
}


# --------------------------------------------------------------------------------------------
# Distractors: PII-shaped text that must never be labelled
# --------------------------------------------------------------------------------------------


def _invalid_ssn(rng: Random) -> str:
    """SSN-shaped but unissuable: area 000/666/9xx, group 00 or serial 0000."""
    area, group, serial = rng.randrange(1, 899), rng.randrange(1, 100), rng.randrange(1, 10000)
    flaw = rng.randrange(5)
    if flaw == 0:
        area = 0
    elif flaw == 1:
        area = 666
    elif flaw == 2:
        area = rng.randrange(900, 1000)
    elif flaw == 3:
        group = 0
    else:
        serial = 0
    separator = "-" if rng.random() < 0.8 else " "
    return f"{area:03d}{separator}{group:02d}{separator}{serial:04d}"


def _amount(rng: Random) -> str:
    """A price in euro, dollar or pound."""
    value = f"{rng.randrange(1, 500)}.{rng.randrange(100):02d}"
    return rng.choice((f"€{value}", f"${value}", f"£{value}", f"{value} EUR"))


DISTRACTOR_MAKERS: dict[str, Callable[[Random], str]] = {
    "order": lambda rng: f"ORD-{rng.randrange(100000, 1000000)}",
    "sku": lambda rng: f"SKU-{rng.randrange(10, 100)}-{_digits(rng, 4)}",
    "ticket": lambda rng: f"#{rng.randrange(10000, 100000)}",
    "amount": _amount,
    "date": lambda rng: _format_date(rng, random_ordinal(rng, EVENT_START, EVENT_END)),
    "time": lambda rng: f"{rng.randrange(8, 20):02d}:{rng.choice((0, 15, 30, 45)):02d}",
    "pct": lambda rng: f"{rng.choice((5, 10, 12, 15, 20, 25, 30))}%",
    "count": lambda rng: str(rng.randrange(2, 13)),
    "badssn": _invalid_ssn,
}


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------


class _TextBuilder:
    """Appends pieces, recording each labelled piece's offsets as it is written."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._labelled: list[tuple[Span, str]] = []

    def add(self, piece: str, entity: str | None = None) -> None:
        """Append piece; label it when entity is given."""
        if entity is not None:
            span = Span(self._length, self._length + len(piece), entity)
            self._labelled.append((span, piece))
        self._parts.append(piece)
        self._length += len(piece)

    def build(self) -> LabelledText:
        """Join the pieces; every span must slice back to exactly the value inserted."""
        text = "".join(self._parts)
        for span, value in self._labelled:
            assert text[span.start : span.end] == value, (span, value, text)
        return LabelledText(text, tuple(span for span, _ in self._labelled))


def _render(rng: Random, template: str, builder: _TextBuilder) -> None:
    """Write one sentence template, filling entity and distractor placeholders."""
    position = 0
    for match in PLACEHOLDER.finditer(template):
        builder.add(template[position : match.start()])
        name = match.group(1)
        if name in ENTITY_MAKERS:
            for piece, entity in ENTITY_MAKERS[name](rng):
                builder.add(piece, entity)
        else:
            builder.add(DISTRACTOR_MAKERS[name](rng))
        position = match.end()
    builder.add(template[position:])


def _sentence_templates(rng: Random, entities: list[str]) -> list[str]:
    """One template per entity, sometimes one sentence for PERSON plus a partner entity."""
    templates = []
    remaining = list(entities)
    partners = [e for e in remaining if e in PAIR_TEMPLATES]
    if "PERSON" in remaining and partners and rng.random() < PAIR_RATE:
        partner = rng.choice(partners)
        templates.append(rng.choice(PAIR_TEMPLATES[partner]))
        remaining.remove("PERSON")
        remaining.remove(partner)
    templates.extend(rng.choice(SINGLE_TEMPLATES[entity]) for entity in remaining)
    if not templates:
        return rng.sample(FILLER_TEMPLATES, rng.randint(1, 2))
    if len(templates) < MAX_SENTENCES and rng.random() < FILLER_RATE:
        templates.append(rng.choice(FILLER_TEMPLATES))
    rng.shuffle(templates)
    return templates


def _labelled_text(rng: Random) -> LabelledText:
    """One note: 0-3 distinct entity types over 1-3 sentences on a single line."""
    count = weighted(rng, ENTITY_COUNT_WEIGHTS)
    entities = rng.sample(ENTITY_TYPES, count)
    builder = _TextBuilder()
    for index, template in enumerate(_sentence_templates(rng, entities)):
        if index:
            builder.add(" ")
        _render(rng, template, builder)
    return builder.build()


def generate_corpus(n: int, seed: int = DEFAULT_SEED) -> list[LabelledText]:
    """n labelled notes; the same (n, seed) always gives the same corpus."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = Random(seed)
    return [_labelled_text(rng) for _ in range(n)]


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def _covered(text: str, detections: list[Detection]) -> bytearray:
    """Per-character flags: 1 where any detection (of any type) covers the character."""
    flags = bytearray(len(text))
    for start, end, _ in detections:
        flags[start:end] = b"\x01" * (end - start)
    return flags


def _fully_covered(text: str, flags: bytearray, span: Span) -> bool:
    """True when every non-whitespace character of the span is covered."""
    return all(flags[i] or text[i].isspace() for i in range(span.start, span.end))


def score(corpus: list[LabelledText], detections: list[list[Detection]]) -> dict[str, EntityScore]:
    """Per entity type. Recall is privacy-oriented: a true span counts as found when the union of
    detected spans (whatever their type) covers every non-whitespace character of it. Precision:
    a detected span is correct if it overlaps any true span. Detected entity names are mapped
    with DETECTION_ALIASES before grouping; detected types not in ENTITY_TYPES are grouped under
    their own name. Every ENTITY_TYPES key is present, extra detected types follow sorted."""
    if len(corpus) != len(detections):
        raise ValueError(f"{len(corpus)} texts but {len(detections)} detection lists")
    counts: dict[str, list[int]] = {entity: [0, 0, 0, 0] for entity in ENTITY_TYPES}
    for item, found_in_text in zip(corpus, detections, strict=True):
        for start, end, entity in found_in_text:
            if not 0 <= start < end <= len(item.text):
                raise ValueError(f"detection {(start, end, entity)} outside {item.text!r}")
        flags = _covered(item.text, found_in_text)
        for span in item.spans:
            row = counts.setdefault(span.entity, [0, 0, 0, 0])
            row[0] += 1
            row[1] += _fully_covered(item.text, flags, span)
        for start, end, entity in found_in_text:
            row = counts.setdefault(DETECTION_ALIASES.get(entity, entity), [0, 0, 0, 0])
            row[2] += 1
            row[3] += any(start < span.end and span.start < end for span in item.spans)
    extra = sorted(entity for entity in counts if entity not in ENTITY_TYPES)
    return {entity: EntityScore(entity, *counts[entity]) for entity in (*ENTITY_TYPES, *extra)}


def _micro(scores: dict[str, EntityScore]) -> EntityScore:
    """Pooled counts over every type: recall over all true spans, precision over all detections."""
    rows = scores.values()
    return EntityScore(
        "micro avg",
        sum(row.support for row in rows),
        sum(row.found for row in rows),
        sum(row.detected for row in rows),
        sum(row.correct for row in rows),
    )


def format_report(scores: dict[str, EntityScore]) -> str:
    """A plain-text table: entity, support, recall, precision, plus a micro-average row.

    A ratio with an empty denominator (no support / nothing detected) shows as "-" rather than
    the 1.0 the properties return, so the table does not advertise untested perfection."""
    micro = _micro(scores)
    width = max(len(row.entity) for row in (*scores.values(), micro))
    header = f"{'entity':<{width}}  {'support':>7}  {'recall':>6}  {'precision':>9}"
    lines = [header, "-" * len(header)]
    for row in (*scores.values(), micro):
        if row is micro:
            lines.append("-" * len(header))
        recall = f"{row.recall:.3f}" if row.support else "-"
        precision = f"{row.precision:.3f}" if row.detected else "-"
        lines.append(f"{row.entity:<{width}}  {row.support:>7}  {recall:>6}  {precision:>9}")
    return "\n".join(lines)
