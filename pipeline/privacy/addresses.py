"""Street addresses in free text, found without a recognizer per country.

An address is a house number and a street name in either order ("221 Baker Street",
"Strojírenská 1006", "97, avenue André Lagarde"), optionally followed by a unit ("Suite 026")
and a city line ("75012 Paris", "North Amy, NV 12345"), on one line or several. A number next
to capitalized words is only a candidate: it needs a street-type word, a unit or city line
after it, or an address context word before it. The column scanner runs ``street_addresses``
once over a whole joined column (texts joined by a NUL line, which no context window crosses).
"""

import re
from collections.abc import Iterable

from pipeline.privacy.person_cues import never_a_name
from pipeline.privacy.street_types import STREET_TYPES

# How far before a candidate its context words count, as in Presidio's context enhancer.
CONTEXT_WINDOW = 40

_LETTER = r"[^\W\d_]"
_WORD = rf"{_LETTER}(?:{_LETTER}|['’-](?={_LETTER}))*\.?"
_HOUSE = r"\d{1,6}[A-Za-z]?(?:[/-]\d{1,4}[A-Za-z]?)?"
_WORDS = rf"{_WORD}(?:[ \t]+{_WORD}){{0,5}}"
_NUMBER_FIRST = re.compile(rf"(?<![\w.,/-])({_HOUSE}),?[ \t]+({_WORDS})")
_NAME_FIRST = re.compile(rf"(?<![\w'’-])({_WORDS}),?[ \t]+({_HOUSE})(?![\w/-]|[.,]\d)")
_NUMBER_BEFORE = re.compile(r"(?<![\w.,/-])\d{1,6}[ \t]+$")
_UNIT_WORDS = r"(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|building)"
_UNIT = re.compile(
    rf"(?i:{_UNIT_WORDS}\.?[ \t]*(?:no\.?[ \t]*)?#?[ \t]*|#[ \t]*)[A-Za-z]?\d{{1,5}}[A-Za-z]?(?!\w)"
)
_UNIT_WORD = re.compile(_UNIT_WORDS, re.IGNORECASE)
_STANDALONE_UNIT = re.compile(
    r"(?<!\w)(?i:apt|apartment|suite|ste|flat)\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?(?!\w)"
)
_PO_BOX = re.compile(
    r"(?<!\w)(?i:p\.?[ ]?o\.?[ ]?box|post(?:al)?[ ]?(?:office[ ]?)?box)[ \t]*\d{1,6}(?!\w)"
)
_POSTCODE = (
    r"(?:\d{5}-\d{4}|\d{4}-\d{3}|\d{2}-\d{3}|\d{3}[ ]\d{2}|\d{4,6}"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}|[A-Z]\d[A-Z][ ]?\d[A-Z]\d|\d{4}[ ]?[A-Z]{2}"
    r"|[A-Z]{1,2}-\d{4,5})(?!\w)"
)
_CITY = rf"{_WORD}(?:[ \t]+{_WORD}){{0,2}}"
# What may follow a street line: a unit, or a city line with a postcode, or (on a new line) a
# line that is only a place name.
_FOLLOW = re.compile(
    rf"(?:\.?[ \t]*,[ \t]*|\.?[ \t]*\n[ \t]*|[ \t]+)(?P<unit>{_UNIT.pattern})"
    rf"|(?:\.?[ \t]*,[ \t]*|\.?[ \t]*\n[ \t]*)(?:(?P<city>{_CITY}),?[ \t]+(?:[A-Z]{{2}}[ \t]+)?"
    rf"{_POSTCODE}|{_POSTCODE}[ \t]+(?P<city2>{_CITY}))(?![\w-])"
)
_CITY_LINE = re.compile(rf"[ \t]*,?[ \t]*\n[ \t]*(?P<city>{_CITY})[ \t]*(?=\n|$|\x00)")
# Street-type words: after the name in English (every USPS and British suffix in
# ``street_types``: "Baker Street", "Kent Prairie", and Hungarian and Greek-abbreviated ones:
# "Váradi utca", "Pavlou str"), before it in French, Spanish, Italian, Portuguese, Polish...
# ("avenue André Lagarde", "Via Roma"), or as the end of one compound word ("Hauptstraße",
# "Kerkstraat", "Storgatan").
_TYPE_AFTER = STREET_TYPES | {"str", "u", "utca", "út", "fasor", "tér", "körút"}
_TYPE_BEFORE = frozenset((
    "rue", "avenue", "av", "boulevard", "bd", "chemin", "allée", "allee", "impasse", "quai",
    "route", "place", "calle", "avenida", "paseo", "plaza", "carrer", "via", "viale", "piazza",
    "corso", "largo", "rua", "travessa", "estrada", "strada", "ulica", "ul", "aleja", "al",
    "ulitsa",
))  # fmt: skip
_TYPE_SUFFIX = re.compile(
    r"(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|laan|straat|gracht|plein"
    r"|steeg|singel|kade|dreef|gata|gatan|gade|vej|veien|vegen|utca|katu|tie)$",
    re.IGNORECASE,
)
# Street-type words written in lower case: the prefixes, and suffixes of languages that write
# them so ("Váradi utca", "Pavlou str").
_LOWER_TYPES = _TYPE_BEFORE | {"str", "u", "utca", "út", "fasor", "tér", "körút", "sor"}
_PARTICLES = frozenset((
    "am", "an", "im", "de", "du", "des", "la", "le", "les", "del", "della", "di", "da", "do",
    "dos", "das", "van", "von", "der", "den", "y",
))  # fmt: skip
_ADDRESS_CONTEXT = (
    "address", "addr", "live", "living", "reside", "located", "ship", "deliver", "send", "sent",
    "mail", "moved", "move to", "home", "house", "street", "visit", "billing", "postal",
)  # fmt: skip
# How far back the end-anchored patterns below are searched. ``text`` is a whole joined column:
# searching it from 0 for each candidate made address detection quadratic in the column's size
# (78 s of a 100k-row customers table). Lookbehinds still see the text before the window.
_LOOK_BACK = 64
_ABBREVIATED = re.compile(r"(?<![^\W\d_])[^\W\d_]{1,4}\.$")
_YEAR = re.compile(r"^(?:1[89]|20)\d\d$")


def _capitalized(word: str) -> bool:
    """A name word: an initial capital, not an all-caps code ("EUR", "BA")."""
    return word[0].isupper() and not (word.isupper() and len(word.rstrip(".")) > 1)


def _street_run(words: list[str], *, from_left: bool) -> list[str]:
    """The longest run of street-name words at one end: capitalized words and particles."""
    ordered = words if from_left else words[::-1]
    run: list[str] = []
    for position, word in enumerate(ordered):
        bare = word.rstrip(".").lower()
        ok = _capitalized(word) or bare in _PARTICLES
        ok = ok or (
            bare in _LOWER_TYPES and (position == 0 or not from_left or bare in _TYPE_AFTER)
        )
        if not ok or len(run) == 4:
            break
        run.append(word)
        if from_left and word.endswith(".") and position > 0:
            break
    run = run if from_left else run[::-1]
    while run and run[-1].rstrip(".").lower() in _PARTICLES | _TYPE_BEFORE - _TYPE_AFTER:
        run.pop()
    while run and run[0].rstrip(".").lower() in _PARTICLES:
        run.pop(0)
    return run


def _has_street_type(run: list[str]) -> bool:
    first, last = run[0].rstrip(".").lower(), run[-1].lower()
    return (
        first in _TYPE_BEFORE
        or last.rstrip(".") in _TYPE_AFTER
        or bool(_TYPE_SUFFIX.search(last))
        or last.rstrip(".") == "str"
    )


def _follow(text: str, end: int) -> int:
    """The end of the unit and city lines after a street line (``end`` when there are none)."""
    for _ in range(3):
        match = _FOLLOW.match(text, end) or _CITY_LINE.match(text, end)
        if not match:
            break
        city = match.groupdict().get("city") or match.groupdict().get("city2")
        if city and _street_run(city.split(), from_left=True) != city.split():
            break  # a place name is capitalized words (and particles: "Völs am Schlern")
        end = match.end()
    return end


def _address_score(text: str, start: int, run: list[str], number: str, follows: bool) -> float:
    """How sure a house number and street words are an address (0: not one)."""
    window = text[max(0, start - CONTEXT_WINDOW) : start].rsplit("\x00", 1)[-1].lower()
    context = any(word in window for word in _ADDRESS_CONTEXT)
    capitalized = [w for w in run if _capitalized(w)]
    first = capitalized[0].rstrip(".") if capitalized else ""
    if not first or never_a_name(first) or _UNIT_WORD.fullmatch(first):
        return 0.0
    if _has_street_type(run) or follows:
        return 0.85 if context or follows else 0.7
    if _YEAR.match(number):
        return 0.0
    if context and (len(capitalized) >= 2 or sum(ch.isdigit() for ch in number) >= 3):
        return 0.6
    return 0.0


def _name_first_score(text: str, start: int, run: list[str], number: str, end: int) -> float:
    """The score of a street name before its number ("Strojírenská 1006")."""
    follows = _follow(text, end) > end
    score = _address_score(text, start, run, number, follows)
    if score or _YEAR.match(number) or never_a_name(run[0].rstrip(".")):
        return score
    if not any(_capitalized(w) for w in run):
        return 0.0
    window = text[max(0, start - CONTEXT_WINDOW) : start].rsplit("\x00", 1)[-1].lower()
    if _NUMBER_BEFORE.search(text, max(0, start - _LOOK_BACK), start):
        return 0.7  # numbers on both sides: "722 Sokolská 1737"
    return 0.6 if any(word in window for word in _ADDRESS_CONTEXT) else 0.0


def street_addresses(text: str) -> Iterable[tuple[int, int, float]]:
    """(start, end, score) of street addresses in ``text`` (may overlap: resolved later)."""
    for start, end, score in _street_candidates(text):
        if text[end - 1] == "." and not _ABBREVIATED.search(text, max(0, end - _LOOK_BACK), end):
            end -= 1  # a full stop, not an abbreviation ("Paris." but "Baker St.")
        yield start, end, score


def _street_candidates(text: str) -> Iterable[tuple[int, int, float]]:
    for match in _NUMBER_FIRST.finditer(text):
        run = _street_run(match.group(2).split(), from_left=True)
        if not run:
            continue
        street_end = _run_end(text, match.start(2), run)
        end = _follow(text, street_end)
        score = _address_score(text, match.start(), run, match.group(1), end > street_end)
        if score:
            yield match.start(), end, score
    yield from _name_first_candidates(text)
    for match in _STANDALONE_UNIT.finditer(text):
        yield match.start(), match.end(), 0.6
    for match in _PO_BOX.finditer(text):
        yield match.start(), match.end(), 0.75


def _name_first_candidates(text: str) -> Iterable[tuple[int, int, float]]:
    for match in _NAME_FIRST.finditer(text):
        run = _street_run(match.group(1).split(), from_left=False)
        if not run:
            continue
        start = _run_start(text, match.end(1), run)
        score = _name_first_score(text, start, run, match.group(2), match.end())
        if score:
            yield start, _follow(text, match.end()), score


def _run_end(text: str, start: int, run: list[str]) -> int:
    """Where the words of ``run`` (separated by any blanks) end, read from ``start``."""
    position = start
    for word in run:
        position = text.index(word, position) + len(word)
    return position


def _run_start(text: str, end: int, run: list[str]) -> int:
    """Where the words of ``run`` start, reading back from ``end``."""
    position = end
    for word in reversed(run):
        position = text.rindex(word, 0, position)
    return position
