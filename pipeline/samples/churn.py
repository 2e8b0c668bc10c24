"""Deterministic generator for the template's dirty e-commerce churn sample data.

The pipeline needs realistic input to prove that ingestion, PII redaction, data contracts and
training all cope with real-world mess: personal data in free text, mixed date formats, missing
cells, stray whitespace, duplicated rows and malformed lines. Committing a generator instead of
only a static file lets tests and benchmarks produce any size on demand.

Everything is drawn from seeded ``random.Random`` instances and a fixed reference date, so the
same seed and size always give byte-identical CSV text on every machine and Python run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.samples.common import (
    REFERENCE_DATE,
    Dirt,
    TableShape,
    ascii_fold,
    card_renderings,
    dirty_csv,
    format_date,
    luhn_check_digit,
    pick,
    poisson,
    random_ordinal,
    stream_rng,
    weighted,
    write_csv_files,
)

DEFAULT_SEED = 20261121

# REFERENCE_DATE ("today" for the sample data) comes from pipeline.samples.common.
SIGNUP_START = date(2019, 1, 1)
SIGNUP_END = date(2026, 5, 31)
BIRTH_START = date(1945, 1, 1)
BIRTH_END = date(2006, 12, 31)

FIRST_CUSTOMER_ID = 100001
FIRST_TRANSACTION_ID = 9000001

CUSTOMER_COLUMNS = (
    "customer_id",
    "full_name",
    "email",
    "phone",
    "street_address",
    "city",
    "postcode",
    "country",
    "date_of_birth",
    "signup_date",
    "plan",
    "support_notes",
    "churned",
)
TRANSACTION_COLUMNS = (
    "transaction_id",
    "customer_id",
    "order_date",
    "amount",
    "currency",
    "card_number",
    "ip_address",
    "channel",
)
# Numeric columns never get stray whitespace; protected (key and label) columns are never blanked
# in clean rows, so joins and the training label stay usable.
CUSTOMER_NUMERIC = frozenset({"customer_id", "churned"})
TRANSACTION_NUMERIC = frozenset({"transaction_id", "customer_id", "amount"})
CUSTOMER_PROTECTED = frozenset({"customer_id", "churned"})
TRANSACTION_PROTECTED = frozenset({"transaction_id", "customer_id"})

# Whitespace targets are drawn among all text cells; a blanked one that is hit stays empty.
DIRT = Dirt(missing=0.02, whitespace=0.03, duplicate=0.01, malformed=0.003, pad_filled_only=False)
ALL_CAPS_RATE = 0.03
# Below this size dirt is purely proportional (it may round to nothing); at or above it every
# kind of dirt appears at least once so tests can rely on it.
DIRT_GUARANTEE_MIN_CUSTOMERS = 50

FIRST_NAMES = (
    # English
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer",
    "Michael", "Linda", "David", "Sarah", "Emily", "Thomas",
    # Spanish
    "José", "María", "Lucía", "Javier", "Carmen", "Alejandro",
    # German / Dutch
    "Jürgen", "Lena", "Matthias", "Sabine", "Lukas", "Zoë",
    # French
    "Amélie", "François", "Céline", "Hélène", "Benoît", "Chloé",
    # Polish
    "Łukasz", "Agnieszka", "Katarzyna", "Paweł", "Małgorzata", "Wojciech",
    # Vietnamese
    "Minh", "Thảo", "Linh", "Quang", "Huy", "Trang",
    # Nigerian
    "Chinedu", "Ngozi", "Oluwaseun", "Adaeze", "Emeka", "Folake",
    # Indian
    "Priya", "Arjun", "Ananya", "Rohan", "Kavya", "Vikram",
    # Japanese
    "Haruto", "Yui", "Sakura", "Takeshi", "Aiko", "Ren",
    # Arabic (romanized)
    "Ahmed", "Fatima", "Omar", "Layla", "Youssef", "Mariam",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Taylor", "Wilson", "Clarke", "Evans",
    "García", "Martínez", "González", "Rodríguez", "Fernández", "López",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Schäfer",
    "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Rousseau",
    "Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kamińska", "Zieliński",
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng",
    "Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Nwosu",
    "Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair",
    "Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Yamamoto",
    "Al-Sayed", "Haddad", "Mansour", "Khalil", "El-Amin", "Nasser",
)  # fmt: skip
# Support agents: names in notes that are NOT the customer's, so redaction cannot key on it.
COLLEAGUES = (
    "Priya Raman", "Tom Becker", "Aisha Bello", "Kenji Sato",
    "Marta Nowicka", "Luc Girard", "Sam O'Neill", "Dana Whitfield",
)  # fmt: skip

EMAIL_DOMAINS = (
    ("example.com", 30),
    ("example.org", 15),
    ("example.net", 10),
    ("mail.example.net", 15),
    ("inbox.example.org", 10),
    ("shop.example.com", 10),
    ("post.example.com", 10),
)
EMAIL_TAGS = ("shop", "orders", "news", "promo")

STREET_NAMES = (
    "Maple", "Oak", "Cedar", "Elm", "Station", "Church", "Mill", "Park", "Lake", "Hill",
    "River", "Bridge", "Chestnut", "Willow", "Meadow", "Orchard", "King", "Queen", "Market",
    "Harbour",
)  # fmt: skip
STREET_SUFFIXES = ("Street", "Road", "Avenue", "Lane", "Drive", "Boulevard", "Way", "Court")

# (country, weight, currency, ((city, postcode prefixes or GB outward codes), ...))
COUNTRIES: tuple[tuple[str, int, str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    (
        "US",
        35,
        "USD",
        (
            ("New York", ("100", "101")),
            ("San Francisco", ("941",)),
            ("Chicago", ("606",)),
            ("Austin", ("787",)),
            ("Seattle", ("981",)),
        ),
    ),
    (
        "GB",
        20,
        "GBP",
        (
            ("London", ("SW1A", "EC1A", "N1", "E14", "W1D")),
            ("Manchester", ("M1", "M4", "M20")),
            ("Edinburgh", ("EH1", "EH3")),
            ("Bristol", ("BS1", "BS8")),
        ),
    ),
    (
        "DE",
        15,
        "EUR",
        (("Berlin", ("10",)), ("München", ("80",)), ("Hamburg", ("20",)), ("Köln", ("50",))),
    ),
    (
        "FR",
        12,
        "EUR",
        (("Paris", ("750",)), ("Lyon", ("690",)), ("Marseille", ("130",)), ("Toulouse", ("310",))),
    ),
    (
        "ES",
        10,
        "EUR",
        (
            ("Madrid", ("280",)),
            ("Barcelona", ("080",)),
            ("Valencia", ("460",)),
            ("Sevilla", ("410",)),
        ),
    ),
    (
        "PL",
        8,
        "EUR",
        (
            ("Warszawa", ("00", "01", "02")),
            ("Kraków", ("30", "31")),
            ("Gdańsk", ("80",)),
            ("Wrocław", ("50", "51")),
        ),
    ),
)
# Area code per city, without the national trunk prefix.
DIALING_CODES = {
    "New York": "212", "San Francisco": "415", "Chicago": "312", "Austin": "512",
    "Seattle": "206", "London": "20", "Manchester": "161", "Edinburgh": "131", "Bristol": "117",
    "Berlin": "30", "München": "89", "Hamburg": "40", "Köln": "221", "Paris": "1", "Lyon": "4",
    "Marseille": "4", "Toulouse": "5", "Madrid": "91", "Barcelona": "93", "Valencia": "96",
    "Sevilla": "95", "Warszawa": "22", "Kraków": "12", "Gdańsk": "58", "Wrocław": "71",
}  # fmt: skip
COUNTRY_WEIGHTS = tuple((code, weight) for code, weight, _, _ in COUNTRIES)
COUNTRY_DETAILS = {code: (currency, cities) for code, _, currency, cities in COUNTRIES}
GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail allows in the inward code

PLANS = (("basic", 45), ("standard", 35), ("premium", 20))
# Premium customers buy pricier baskets.
PLAN_BASKET_SCALE = {"basic": 0.8, "standard": 1.0, "premium": 1.35}
CHANNELS = (("web", 45), ("app", 35), ("store", 12), ("phone", 8))

# (format name, weight): ISO dominates; the others are unambiguous but need explicit parsing.
DATE_FORMATS = (("iso", 70), ("dotted", 10), ("slashed", 10), ("text", 10))

# Public-looking first octets (no RFC 1918, loopback, CGNAT or multicast ranges).
IPV4_FIRST_OCTETS = (
    23, 31, 37, 46, 62, 77, 81, 84, 86, 90, 92, 95, 98, 104, 109, 151, 176, 185, 188, 195,
    203, 212, 213, 217,
)  # fmt: skip
IPV6_PREFIXES = ("2a02", "2a01", "2a00", "2600", "2604", "2406", "2003")
IPV6_RATE = 0.05

# Card test prefixes: Visa, Mastercard (51-55) and Amex (15 digits).
CARD_BRANDS = (("4", 55), ("51", 8), ("52", 8), ("53", 8), ("54", 7), ("55", 7), ("37", 7))
CARD_LENGTHS = {"4": 16, "51": 16, "52": 16, "53": 16, "54": 16, "55": 16, "37": 15}
CARD_STYLES = (("plain", 50), ("spaced", 30), ("dashed", 20))

# Sentences that record a complaint; they raise the churn logit.
COMPLAINT_TEMPLATES = (
    "Customer {full} called about late delivery of {order}.",
    "Complained that {order} arrived damaged; replacement sent.",
    "{first} says the app keeps logging them out, ticket passed to {colleague}.",
    "Charged twice on card {card} for {order}, very frustrated.",
    "Threatened to switch to a competitor if {order} is not refunded.",
    "Unhappy with slow support response, asked to speak to a manager.",
)
# Explicit cancellation intent, written for customers who actually leave.
CANCEL_TEMPLATES = (
    "Wants to cancel, unhappy with price increase.",
    "{upper} asked how to close the account and remove card {card}.",
)
NEUTRAL_TEMPLATES = (
    "Asked to update email to {email}.",
    "Card {card} declined twice, advised to retry.",
    "{upper} requested a callback on {phone}.",
    "Refund issued for {order}; escalated to {colleague}.",
    "{first} confirmed delivery address, no further action.",
    "Spoke with {name} about upgrading to premium.",
    "Sent password reset link to {email}.",
    "Customer {full} asked for an invoice copy for {order}.",
    "Verified caller {name} via {phone} before discussing {order}.",
)

# Churn model. Coefficients were tuned so the base rate is ~25% and a simple model on plan,
# tenure, transaction count and recency reaches an AUC of roughly 0.8.
CHURN_INTERCEPT = -1.9
CHURN_PLAN_EFFECT = {"basic": 0.8, "standard": 0.0, "premium": -0.7}
CHURN_LOG_TENURE = -0.35
CHURN_PER_TRANSACTION = -0.12
CHURN_LOG_RECENCY = 0.55
CHURN_PER_COMPLAINT = 0.6

MAX_TRANSACTIONS = 15
# Poisson mean of orders for an average, long-tenured customer (overall mean lands near 5).
BASE_ORDER_RATE = 4.7
MAX_NOTE_SENTENCES = 3


@dataclass
class _Customer:
    """Clean customer facts kept around so transactions and notes stay consistent."""

    customer_id: int
    first: str
    last: str
    full_name: str
    email: str
    phone: str
    street_address: str
    city: str
    postcode: str
    country: str
    currency: str
    birth: int
    signup: int
    plan: str
    engagement: float
    complaints: int
    cards: list[dict[str, str]] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    order_days: list[int] = field(default_factory=list)
    churned: int = 0
    notes: str = ""


# --------------------------------------------------------------------------------------------
# Personal data
# --------------------------------------------------------------------------------------------


def _email(rng: random.Random, first: str, last: str, birth_year: int) -> str:
    """Build an address from the name so PII detection sees realistic, linked values."""
    f, la = ascii_fold(first), ascii_fold(last)
    pattern = rng.randrange(7)
    if pattern == 0:
        local = f"{f}.{la}"
    elif pattern == 1:
        local = f"{f}{la}"
    elif pattern == 2:
        local = f"{f[0]}{la}"
    elif pattern == 3:
        local = f"{f}.{la[0]}"
    elif pattern == 4:
        local = f"{f}_{la}{rng.randrange(10, 100)}"
    elif pattern == 5:
        local = f"{f}.{la}+{pick(rng, EMAIL_TAGS)}"
    else:
        local = f"{la}.{f}{birth_year % 100:02d}"
    return f"{local}@{weighted(rng, EMAIL_DOMAINS)}"


def _phone(rng: random.Random, country: str, city: str) -> str:
    """National formats with the city's area code; US/UK use the fictional drama ranges."""
    area = DIALING_CODES[city]
    if country == "US":  # 555-0100..0199 is reserved for fiction
        line = f"01{rng.randrange(100):02d}"
        style = rng.randrange(5)
        if style <= 1:
            return f"+1 {area}-555-{line}"
        if style <= 3:
            return f"({area}) 555-{line}"
        return f"{area}555{line}"
    if country == "GB":  # Ofcom drama numbers: 020 7946 0xxx, 0161 496 0xxx, ...
        local = (
            f"7946 0{rng.randrange(1000):03d}"
            if area == "20"
            else f"496 0{rng.randrange(1000):03d}"
        )
        if rng.random() < 0.5:
            return f"+44 {area} {local}"
        return f"0{area} {local}"
    if country == "DE":
        return f"+49 {area} {rng.randrange(100000, 1000000)}"
    if country == "FR":
        pairs = " ".join(f"{rng.randrange(100):02d}" for _ in range(4))
        return f"+33 {area} {pairs}"
    if country == "ES":
        return f"+34 {area}{rng.randrange(10)} {rng.randrange(1000):03d} {rng.randrange(1000):03d}"
    return f"+48 {area} {rng.randrange(1000):03d} {rng.randrange(100):02d} {rng.randrange(100):02d}"


def _postcode(rng: random.Random, country: str, prefixes: tuple[str, ...]) -> str:
    """Postcodes shaped like the country's real ones, prefixed to match the city."""
    prefix = pick(rng, prefixes)
    if country == "GB":
        letters = "".join(pick(rng, GB_INWARD_LETTERS) for _ in range(2))
        return f"{prefix} {rng.randrange(1, 10)}{letters}"
    if country == "PL":
        return f"{prefix}-{rng.randrange(1000):03d}"
    free = 5 - len(prefix)
    return f"{prefix}{rng.randrange(10**free):0{free}d}"


def _street(rng: random.Random) -> str:
    """House number, street and suffix; some carry an apartment after a comma (forces quoting)."""
    street = f"{rng.randrange(1, 400)} {pick(rng, STREET_NAMES)} {pick(rng, STREET_SUFFIXES)}"
    if rng.random() < 0.15:
        street += f", Apt {rng.randrange(1, 30)}{pick(rng, 'ABCDEF')}"
    return street


def _card(rng: random.Random) -> str:
    """A Luhn-valid number from a well-known test prefix (digits only)."""
    prefix = weighted(rng, CARD_BRANDS)
    free = CARD_LENGTHS[prefix] - len(prefix) - 1
    body = f"{prefix}{rng.randrange(10**free):0{free}d}"
    return body + luhn_check_digit(body)


def _format_card(rng: random.Random, renderings: dict[str, str]) -> str:
    """Pick how this occurrence of a card is printed."""
    return renderings[weighted(rng, CARD_STYLES)]


def _ip(rng: random.Random) -> str:
    """Public-looking IPv4, with a small share of IPv6."""
    if rng.random() < IPV6_RATE:
        groups = ":".join(f"{rng.randrange(1, 0x10000):x}" for _ in range(3))
        return f"{pick(rng, IPV6_PREFIXES)}:{groups}::{rng.randrange(1, 0x10000):x}"
    bits = rng.getrandbits(16)
    host = 1 + int(rng.random() * 254)
    return f"{pick(rng, IPV4_FIRST_OCTETS)}.{bits >> 8}.{bits & 0xFF}.{host}"


# --------------------------------------------------------------------------------------------
# Clean customers, behaviour and churn
# --------------------------------------------------------------------------------------------


def _make_customer(rng: random.Random, customer_id: int) -> _Customer:
    """Draw one customer's identity, plan and latent engagement."""
    first, last = pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)
    full_name = f"{first} {last}"
    if rng.random() < ALL_CAPS_RATE:
        full_name = full_name.upper()
    country = weighted(rng, COUNTRY_WEIGHTS)
    currency, cities = COUNTRY_DETAILS[country]
    city, prefixes = pick(rng, cities)
    birth = random_ordinal(rng, BIRTH_START, BIRTH_END)
    engagement = rng.gauss(0.0, 1.0)
    customer = _Customer(
        customer_id=customer_id,
        first=first,
        last=last,
        full_name=full_name,
        email=_email(rng, first, last, date.fromordinal(birth).year),
        phone=_phone(rng, country, city),
        street_address=_street(rng),
        city=city,
        postcode=_postcode(rng, country, prefixes),
        country=country,
        currency=currency,
        birth=birth,
        signup=random_ordinal(rng, SIGNUP_START, SIGNUP_END),
        plan=weighted(rng, PLANS),
        engagement=engagement,
        complaints=min(MAX_NOTE_SENTENCES, poisson(rng, 0.3 * math.exp(-0.6 * engagement))),
    )
    customer.cards = [card_renderings(_card(rng)) for _ in range(1 if rng.random() < 0.65 else 2)]
    customer.ips = [_ip(rng) for _ in range(1 if rng.random() < 0.6 else 2)]
    return customer


def _draw_orders(rng: random.Random, customer: _Customer) -> None:
    """Order days: engaged, long-tenured customers order more often and more recently."""
    today = REFERENCE_DATE.toordinal()
    tenure_days = today - customer.signup
    tenure_factor = min(1.0, 0.3 + tenure_days / 365.25)
    lam = BASE_ORDER_RATE * math.exp(0.45 * customer.engagement) * tenure_factor
    count = min(MAX_TRANSACTIONS, poisson(rng, lam))
    if count == 0:
        return
    recency = int(rng.expovariate(1.0 / (45.0 * math.exp(-0.8 * customer.engagement))))
    last = max(customer.signup + 1, today - min(recency, tenure_days - 1))
    days = [last] + [rng.randint(customer.signup + 1, last) for _ in range(count - 1)]
    customer.order_days = sorted(days)


def _churn_probability(customer: _Customer) -> float:
    """Logistic churn model over plan, tenure, purchase frequency, recency and complaints."""
    today = REFERENCE_DATE.toordinal()
    tenure_days = today - customer.signup
    last_activity = customer.order_days[-1] if customer.order_days else customer.signup
    logit = (
        CHURN_INTERCEPT
        + CHURN_PLAN_EFFECT[customer.plan]
        + CHURN_LOG_TENURE * math.log(tenure_days / 30.0)
        + CHURN_PER_TRANSACTION * len(customer.order_days)
        + CHURN_LOG_RECENCY * math.log1p(today - last_activity)
        + CHURN_PER_COMPLAINT * customer.complaints
    )
    return 1.0 / (1.0 + math.exp(-logit))


# --------------------------------------------------------------------------------------------
# Support notes
# --------------------------------------------------------------------------------------------


def _fill(rng: random.Random, template: str, customer: _Customer) -> str:
    """Fill a sentence template with this customer's own PII (and a colleague's name)."""
    full = f"{customer.first} {customer.last}"
    name = pick(rng, (full, full, customer.first, full.upper()))
    return template.format(
        full=full,
        first=customer.first,
        upper=full.upper() if rng.random() < 0.6 else full,
        name=name,
        email=customer.email,
        phone=customer.phone,
        card=_format_card(rng, pick(rng, customer.cards)),
        order=f"ORD-{rng.randrange(100000, 1000000)}",
        colleague=pick(rng, COLLEAGUES),
    )


def _notes(rng: random.Random, customer: _Customer) -> str:
    """Single-line agent notes; complaints and cancel intent track the churn signal."""
    templates = rng.sample(COMPLAINT_TEMPLATES, customer.complaints)
    if customer.churned and rng.random() < 0.35:
        templates.append(pick(rng, CANCEL_TEMPLATES))
    if not templates and rng.random() < 0.42:
        return ""
    room = MAX_NOTE_SENTENCES - len(templates)
    extra = rng.randint(0 if templates else 1, min(2, room)) if room > 0 else 0
    templates.extend(rng.sample(NEUTRAL_TEMPLATES, extra))
    rng.shuffle(templates)
    return " ".join(_fill(rng, template, customer) for template in templates[:MAX_NOTE_SENTENCES])


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _build_customers(seed: int, count: int) -> list[_Customer]:
    """All clean customers with orders, churn label and notes."""
    rng = stream_rng(seed, "customers")
    behaviour = stream_rng(seed, "behaviour")
    customers = []
    for offset in range(count):
        customer = _make_customer(rng, FIRST_CUSTOMER_ID + offset)
        _draw_orders(behaviour, customer)
        customer.churned = int(behaviour.random() < _churn_probability(customer))
        customer.notes = _notes(behaviour, customer)
        customers.append(customer)
    return customers


def _customer_rows(seed: int, customers: list[_Customer]) -> list[list[str]]:
    """Render customers as CSV fields with mixed date formats."""
    rng = stream_rng(seed, "customer-format")
    return [
        [
            str(c.customer_id),
            c.full_name,
            c.email,
            c.phone,
            c.street_address,
            c.city,
            c.postcode,
            c.country,
            format_date(rng, c.birth, DATE_FORMATS),
            format_date(rng, c.signup, DATE_FORMATS),
            c.plan,
            c.notes,
            str(c.churned),
        ]
        for c in customers
    ]


def _transaction_rows(seed: int, customers: list[_Customer]) -> list[list[str]]:
    """Render every order; ids are assigned in date order like an export from a shop system."""
    rng = stream_rng(seed, "transactions")
    drafts: list[tuple[int, int, int, _Customer]] = []
    for customer in customers:
        for index, day in enumerate(customer.order_days):
            drafts.append((day, customer.customer_id, index, customer))
    drafts.sort(key=lambda draft: draft[:3])
    rows = []
    for offset, (day, customer_id, _, customer) in enumerate(drafts):
        amount = rng.lognormvariate(math.log(45.0), 0.9) * PLAN_BASKET_SCALE[customer.plan]
        ip = pick(rng, customer.ips) if rng.random() < 0.85 else _ip(rng)
        rows.append(
            [
                str(FIRST_TRANSACTION_ID + offset),
                str(customer_id),
                format_date(rng, day, DATE_FORMATS),
                f"{min(900.0, max(0.5, amount)):.2f}",
                customer.currency,
                _format_card(rng, pick(rng, customer.cards)),
                ip,
                weighted(rng, CHANNELS),
            ]
        )
    return rows


# --------------------------------------------------------------------------------------------
# Dirt
# --------------------------------------------------------------------------------------------


def _mangle_number(rng: random.Random, value: str) -> str:
    """Turn an id into an OCR-style typo: a zero read as the letter O, or a one as l."""
    positions = [i for i, ch in enumerate(value) if ch == "0"]
    if positions:
        i = pick(rng, positions)
        return value[:i] + "O" + value[i + 1 :]
    i = value.index("1")
    return value[:i] + "l" + value[i + 1 :]


def _malformed_customer(
    rng: random.Random, template: list[str], kind: str, new_id: int
) -> list[str]:
    """A broken customer line; it gets an unused id so clean ids stay unique."""
    row = list(template)
    row[0] = str(new_id)
    if kind == "extra_field":  # an unquoted comma in the address split it in two
        street = row[4].strip() or "1 Oak Lane"
        head, _, tail = street.partition(", ")
        row[4:5] = [head, tail or f"Apt {rng.randrange(1, 30)}{pick(rng, 'ABCDEF')}"]
    elif kind == "missing_field":  # the phone column was dropped by the exporter
        del row[3]
    elif kind == "bad_customer_id":
        row[0] = _mangle_number(rng, row[0])
    else:  # bad_churned
        row[-1] = pick(rng, ("yes?", "yes?", "unknown", "1.0.0"))
    return row


def _malformed_transaction(
    rng: random.Random, template: list[str], kind: str, new_id: int
) -> list[str]:
    """A broken transaction line; it gets an unused id so clean ids stay unique."""
    row = list(template)
    row[0] = str(new_id)
    euros, cents = rng.randrange(1, 200), rng.randrange(100)
    if kind == "extra_field":  # a decimal comma written without quotes
        row[3:4] = [str(euros), f"{cents:02d}"]
    elif kind == "missing_field":  # the ip_address column was dropped
        del row[6]
    elif kind == "amount_decimal_comma":
        row[3] = f"{euros},{cents:02d}€"  # contains a comma, so the writer quotes it
    elif kind == "amount_na":
        row[3] = pick(rng, ("N/A", "n/a", "-"))
    else:  # amount_typo
        row[3] = f"{euros}x.{cents:02d}"
    return row


CUSTOMER_MALFORMED_KINDS = ("extra_field", "missing_field", "bad_customer_id", "bad_churned")
TRANSACTION_MALFORMED_KINDS = (
    "extra_field",
    "missing_field",
    "amount_decimal_comma",
    "amount_na",
    "amount_typo",
)


CUSTOMERS = TableShape(
    CUSTOMER_COLUMNS,
    CUSTOMER_PROTECTED,
    CUSTOMER_NUMERIC,
    CUSTOMER_MALFORMED_KINDS,
    FIRST_CUSTOMER_ID,
    _malformed_customer,
)
TRANSACTIONS = TableShape(
    TRANSACTION_COLUMNS,
    TRANSACTION_PROTECTED,
    TRANSACTION_NUMERIC,
    TRANSACTION_MALFORMED_KINDS,
    FIRST_TRANSACTION_ID,
    _malformed_transaction,
)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def generate(customers: int, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Return {"customers": csv_text, "transactions": csv_text}."""
    if customers < 0:
        raise ValueError(f"customers must be >= 0, got {customers}")
    clean = _build_customers(seed, customers)
    customer_rows = _customer_rows(seed, clean)
    transaction_rows = _transaction_rows(seed, clean)
    guaranteed = customers >= DIRT_GUARANTEE_MIN_CUSTOMERS

    return {
        "customers": dirty_csv(
            stream_rng(seed, "customer-dirt"), customer_rows, CUSTOMERS, DIRT, guaranteed
        ),
        "transactions": dirty_csv(
            stream_rng(seed, "transaction-dirt"), transaction_rows, TRANSACTIONS, DIRT, guaranteed
        ),
    }


def write_sample(out_dir: Path, customers: int, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write customers.csv and transactions.csv into out_dir (created if missing); return paths."""
    return write_csv_files(out_dir, generate(customers, seed))
