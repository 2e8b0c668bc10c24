"""Fast PII detection over a whole column of free text.

Presidio's engines analyze one cell at a time: every recognizer's regex, every validation and a
full spaCy pipeline run once per cell, and the per-cell Python (the phone recognizer above all)
costs more than NER itself. Here the same Presidio recognizers (their regexes, checksums and
context words) run once over the whole column joined into one string, so candidate finding is a
single regex pass per entity with validation only on hits. NER then runs only where it is
needed: pattern hits are first replaced by tags, the text is cut into sentences, identical
sentences are analyzed once, ALL-CAPS words are shown to the model in Title case (the small
model misses all-caps names), and spaCy runs with its NER components only, batched, on both
cores for large inputs.

Guards for known Presidio pitfalls: an email is never also split into URL matches (URL is not
scanned and overlaps resolve to the longer, stronger entity); a PERSON must contain letters;
SSNs in ranges never issued (000, 666, 900-999) are rejected; phone candidates are validated
with ``phonenumbers`` only where the column-wide regex found them.
"""

import bisect
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import phonenumbers
from presidio_analyzer import EntityRecognizer, PatternRecognizer, predefined_recognizers

from pipeline.privacy.entities import DEFAULT_PHONE_REGIONS, NER_ENTITIES, PATTERN_RECOGNIZERS
from pipeline.privacy.names import (
    HONORIFIC_NAME,
    complete_names,
    cued_names,
    laid_out_names,
    name_shaped,
    ner_entity,
    plausible_person,
    title_case_shouting,
)
from pipeline.privacy.ner import named_entities
from pipeline.privacy.person_cues import never_a_name
from pipeline.privacy.spans import (
    Hit,
    Segments,
    in_tag,
    mask_hits,
    resolve_hits,
    tag_spans,
    unmask_span,
)

# Texts are joined with a separator no recognizer's pattern can cross.
_SEPARATOR = "\n\x00\n"
# Presidio's context enhancement: a context word close before a hit raises its score.
_CONTEXT_BOOST = 0.35
_CONTEXT_WINDOW = 40
# One line only (a phone never continues on the next line), an extension allowed, and never
# the date and hour of a timestamp ("2025-09-29 13:07").
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w.+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d[\d \t.-]{5,16}\d"
    r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?(?![\w-]|:\d)"
)
_EXTENSION = re.compile(r"[ ]?(?:x|ext\.?)[ ]?\d{1,6}$")
_DATE_START = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{2,4}(?!\d)")
# Any Luhn-valid run of 13 to 19 digits is a card, whatever its issuer prefix (Presidio's
# recognizer knows only some): digits alone, or grouped by single spaces or hyphens.
_CARD_CANDIDATE = re.compile(r"(?<![\w+.,/-])\d(?:[ -]?\d){12,18}(?![\w/-]|[.,]\d)")
# An e-mail address on any domain with a dot (corp.local, hr.internal, x.example): Presidio's
# recognizer checks the ending against the public suffix list and misses internal domains.
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w%+-]+(?:\.[\w%+-]+)*@[^\W_](?:[\w-]*[^\W_])?"
    r"(?:\.[^\W_](?:[\w-]*[^\W_])?)*\.[^\W\d_]{2,}(?![\w-]|\.[^\W_])"
)
# Entities found by this module's own column-wide passes rather than Presidio's recognizers.
_OWN_PASSES = frozenset({"CREDIT_CARD", "EMAIL_ADDRESS"})
_DATE_SHAPE = re.compile(r"^\d{4}[./-]\d{1,2}[./-]\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
_SSN_SHAPE = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")
_THE = re.compile(r"^the\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_PROGRESS_EVERY = 1000

Progress = Callable[[int], None] | None


_PHONE_CONTEXT = re.compile(
    r"(?i:\b(?:phone|tel|telephone|call|callback|mobile|cell|fax|reach|contact|whatsapp|m)\b)"
    r"[^\n\x00]{0,24}$"
)


def _phone_context(text: str, start: int) -> bool:
    """Whether a phone context word stands shortly before ``start``, on the same line."""
    return bool(_PHONE_CONTEXT.search(text, max(0, start - 30), start))


def _phone_shaped(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in _EXTENSION.sub("", candidate))
    stripped = candidate.strip()
    return (
        8 <= digits <= 15
        and not _DATE_SHAPE.match(stripped)
        and not _DATE_START.match(stripped)
        and not _SSN_SHAPE.match(stripped)
    )


def _card_spans(text: str) -> list[tuple[int, int]]:
    """Luhn-valid runs of 13 to 19 digits, in order."""
    return [m.span() for m in _CARD_CANDIDATE.finditer(text) if _luhn_valid(m.group(0))]


def _luhn_valid(candidate: str) -> bool:
    digits = [int(ch) for ch in candidate if ch.isdigit()]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0 and len(set(digits)) > 1


def _invalid_ssn(text: str) -> bool:
    digits = "".join(ch for ch in text if ch.isdigit())
    return (
        len(digits) != 9
        or digits[0] == "9"
        or digits[:3] in ("000", "666")
        or digits[3:5] == "00"
        or digits[5:] == "0000"
    )


@dataclass
class _Column:
    """Many texts joined into one string, with the hits found so far in each text."""

    texts: Sequence[str]
    allow: frozenset[str] = frozenset()
    joined: str = ""
    starts: list[int] = field(default_factory=list)
    hits: list[list[Hit]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.joined = _SEPARATOR.join(self.texts)
        position = 0
        for text in self.texts:
            self.starts.append(position)
            position += len(text) + len(_SEPARATOR)
        self.hits = [[] for _ in self.texts]

    def locate(self, start: int, end: int) -> tuple[int, int, int] | None:
        """(text index, start, end) of a joined-string span; None if it crosses a separator."""
        index = bisect.bisect_right(self.starts, start) - 1
        local_start, local_end = start - self.starts[index], end - self.starts[index]
        if local_end > len(self.texts[index]):
            return None
        return index, local_start, local_end


@dataclass
class _Sentence:
    """Where one distinct masked sentence occurs: (text index, segments, offset) each."""

    occurrences: list[tuple[int, Segments, int]] = field(default_factory=list)

    def add(self, column: _Column, start: int, end: int, entity: str, score: float) -> None:
        for index, segments, offset in self.occurrences:
            original = unmask_span(segments, offset + start, offset + end)
            column.hits[index].append(Hit(*original, entity, score))


class ColumnScanner:
    """Finds entities in many texts at once; built once per policy, reused for every column."""

    def __init__(
        self,
        entities: Iterable[str],
        *,
        threshold: float = 0.4,
        custom: Sequence[PatternRecognizer] = (),
        allow_list: Iterable[str] = (),
        deny_lists: dict[str, list[str]] | None = None,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        spacy_model: str | None = None,
        language: str = "en",
    ):
        self.entities = frozenset(entities)
        self.threshold = threshold
        self.recognizers: list[PatternRecognizer] = [
            getattr(predefined_recognizers, name)()
            for entity, name in PATTERN_RECOGNIZERS.items()
            if entity in self.entities and entity not in _OWN_PASSES
        ]
        self.recognizers += [
            r for r in custom if not self.entities.isdisjoint(r.supported_entities)
        ]
        self.recognizers += [
            PatternRecognizer(
                supported_entity=entity,
                deny_list=words,
                supported_language=language,
                name=f"deny_{entity.lower()}",
            )
            for entity, words in (deny_lists or {}).items()
            if words
        ]
        self.allow = {word.lower() for word in allow_list}
        self.phone_regions = tuple(phone_regions)
        self.ner_entities = self.entities & NER_ENTITIES
        if self.ner_entities and not spacy_model:
            raise ValueError(f"entities {sorted(self.ner_entities)} need a spaCy model")
        self.spacy_model = spacy_model

    def scan(
        self, texts: Sequence[str], progress: Progress = None, allow: Iterable[str] = ()
    ) -> list[list[Hit]]:
        """Entities in each text (offsets into that text), overlaps resolved.

        ``allow`` adds, for these texts only, values never treated as PII (the dataset's own
        countries or plan names, say), compared without case.
        """
        if not texts:
            return []
        column = _Column(texts, frozenset(self.allow | {a.strip().lower() for a in allow}))
        self._find_patterns(column)
        if "PERSON" in self.entities:
            for index, text in enumerate(texts):
                column.hits[index] += [
                    Hit(start, end, "PERSON", 0.7)
                    for start, end in laid_out_names(text)
                    if text[start:end].lower() not in column.allow
                ]
        column.hits = [resolve_hits(h) for h in column.hits]
        if not self.ner_entities:
            if progress:
                progress(len(texts))
            return column.hits
        self._find_named_entities(column, progress)
        return [
            resolve_hits(complete_names(text, h, column.allow))
            for text, h in zip(texts, column.hits, strict=True)
        ]

    def _find_patterns(self, column: _Column) -> None:
        """Presidio's recognizers, phones and titled names: one pass over the joined column."""
        # IBANs are written in lower case too ("my iban is gb97lvxg..."); Presidio's pattern
        # wants capitals, so its recognizer also reads the column in upper case.
        upper = column.joined.upper()
        for recognizer in self.recognizers:
            texts = [column.joined]
            if "IBAN_CODE" in recognizer.supported_entities and len(upper) == len(column.joined):
                texts.append(upper)
            for text in texts:
                for result in recognizer.analyze(text, recognizer.supported_entities, None):
                    self._place(
                        column,
                        result.start,
                        result.end,
                        result.entity_type,
                        result.score,
                        recognizer,
                    )
        self._find_own_patterns(column)
        if "PERSON" in self.entities:
            for match in HONORIFIC_NAME.finditer(column.joined):
                self._place(column, match.start(1), match.end(1), "PERSON", 0.85)

    def _find_own_patterns(self, column: _Column) -> None:
        """Cards, e-mails, street addresses and phones: this module's column-wide passes."""
        cards = _card_spans(column.joined) if "CREDIT_CARD" in self.entities else []
        for start, end in cards:
            self._place(column, start, end, "CREDIT_CARD", 0.9)
        if "EMAIL_ADDRESS" in self.entities:
            for match in _EMAIL.finditer(column.joined):
                self._place(column, match.start(), match.end(), "EMAIL_ADDRESS", 1.0)
        if "STREET_ADDRESS" in self.entities:
            for start, end, score in street_addresses(column.joined):
                self._place(column, start, end, "STREET_ADDRESS", score)
        if "PHONE_NUMBER" in self.entities:
            self._find_phones(column, cards)

    def _find_phones(self, column: _Column, cards: list[tuple[int, int]]) -> None:
        """Phone candidates valid in a region's plan, or phone-shaped and said to be phones."""
        card_starts = [start for start, _ in cards]
        for match in _PHONE_CANDIDATE.finditer(column.joined):
            # A card number is never also a phone number.
            index = bisect.bisect_left(card_starts, match.end()) - 1
            if index >= 0 and cards[index][1] > match.start():
                continue
            if self._is_phone(match.group(0)):
                self._place(column, match.start(), match.end(), "PHONE_NUMBER", 0.75)
            elif _phone_context(column.joined, match.start()) and _phone_shaped(match.group(0)):
                # A number no region's plan knows, but said to be a phone ("Tel: ...").
                self._place(column, match.start(), match.end(), "PHONE_NUMBER", 0.5)

    def _place(
        self,
        column: _Column,
        start: int,
        end: int,
        entity: str,
        score: float,
        recognizer: EntityRecognizer | None = None,
    ) -> None:
        located = column.locate(start, end)
        if located is None:
            return  # crossed into the separator: not a real match
        index, local_start, local_end = located
        text = column.texts[index]
        value = text[local_start:local_end]
        if value.strip().lower() in column.allow:
            return
        if entity == "US_SSN" and _invalid_ssn(value):
            return
        if recognizer is not None and recognizer.context:
            window = text[max(0, local_start - _CONTEXT_WINDOW) : local_start].lower()
            if any(word.lower() in window for word in recognizer.context):
                score = min(1.0, max(score + _CONTEXT_BOOST, 0.4))
        if score >= self.threshold:
            column.hits[index].append(Hit(local_start, local_end, entity, score))

    def _is_phone(self, candidate: str) -> bool:
        candidate = _EXTENSION.sub("", candidate)
        digits = sum(ch.isdigit() for ch in candidate)
        stripped = candidate.strip()
        if digits < 7 or digits > 15 or _SSN_SHAPE.match(stripped):
            return False
        if _DATE_SHAPE.match(stripped) or _DATE_START.match(stripped):
            return False
        regions = (None,) if candidate.lstrip().startswith("+") else self.phone_regions
        for region in regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(number):
                return True
        return False

    def _find_named_entities(self, column: _Column, progress: Progress) -> None:
        """NER on distinct sentences of the texts, with pattern hits already replaced by tags."""
        sentences = _distinct_sentences(column)
        found = named_entities(self.spacy_model, [title_case_shouting(s) for s in sentences])
        for done, (sentence, ents) in enumerate(zip(sentences, found, strict=True), start=1):
            where = sentences[sentence]
            tags = tag_spans(sentence)
            for start, end, label in ents:
                entity = ner_entity(label, sentence, start, end, self.ner_entities)
                if entity in self.ner_entities and _keep_entity(
                    sentence, tags, start, end, entity, column.allow
                ):
                    where.add(column, start, end, entity, 0.85)
            if "PERSON" in self.ner_entities:
                for start, end in cued_names(title_case_shouting(sentence)):
                    if sentence[start:end].lower() not in column.allow:
                        where.add(column, start, end, "PERSON", 0.6)
            if progress and done % _PROGRESS_EVERY == 0:
                progress(_PROGRESS_EVERY)
        if progress:
            progress(len(sentences) % _PROGRESS_EVERY)


def _keep_entity(
    sentence: str,
    tags: list[tuple[int, int]],
    start: int,
    end: int,
    entity: str,
    allow: frozenset[str],
) -> bool:
    """A named entity worth redacting: name-shaped, outside the tags, not allowed."""
    span = sentence[start:end]
    shaped = plausible_person(span) if entity == "PERSON" else name_shaped(span)
    if in_tag(tags, start, end) or not shaped:
        return False
    value = span.strip().lower()
    return value not in allow and _THE.sub("", value) not in allow


def _distinct_sentences(column: _Column) -> dict[str, _Sentence]:
    """Each distinct sentence of the masked texts (with a capital letter), and where it is."""
    sentences: dict[str, _Sentence] = defaultdict(_Sentence)
    for index, text in enumerate(column.texts):
        masked, segments = mask_hits(text, column.hits[index])
        position = 0
        for sentence in _SENTENCE_END.split(masked):
            offset = masked.index(sentence, position)
            position = offset + len(sentence)
            if any(ch.isupper() for ch in sentence):
                sentences[sentence].occurrences.append((index, segments, offset))
    return sentences


# --- Street addresses -----------------------------------------------------------------------
# An address is a house number and a street name in either order ("221 Baker Street",
# "Strojírenská 1006", "97, avenue André Lagarde"), optionally followed by a unit ("Suite 026")
# and a city line ("75012 Paris", "North Amy, NV 12345"), on one line or several. A number next
# to capitalized words is only a candidate: it needs a street-type word, a unit or city line
# after it, or an address context word before it.
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
# Street-type words: after the name in English ("Baker Street"), before it in French, Spanish,
# Italian, Portuguese, Polish... ("avenue André Lagarde", "Via Roma"), or as the end of one
# compound word ("Hauptstraße", "Kerkstraat", "Storgatan").
_TYPE_AFTER = frozenset((
    "street", "st", "road", "rd", "avenue", "ave", "av", "lane", "ln", "drive", "dr", "boulevard",
    "blvd", "way", "court", "ct", "place", "pl", "terrace", "ter", "close", "crescent", "cres",
    "square", "sq", "parkway", "pkwy", "highway", "hwy", "circle", "cir", "trail", "trl", "row",
    "alley", "path", "walk", "gardens", "grove", "mews", "plaza", "loop", "crossing", "ridge",
    "heights", "expressway", "freeway", "turnpike", "pike", "str", "u", "utca", "út", "fasor",
    "tér", "körút",
))  # fmt: skip
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
    window = text[max(0, start - _CONTEXT_WINDOW) : start].rsplit("\x00", 1)[-1].lower()
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
    window = text[max(0, start - _CONTEXT_WINDOW) : start].rsplit("\x00", 1)[-1].lower()
    if _NUMBER_BEFORE.search(text, 0, start):
        return 0.7  # numbers on both sides: "722 Sokolská 1737"
    return 0.6 if any(word in window for word in _ADDRESS_CONTEXT) else 0.0


def street_addresses(text: str) -> Iterable[tuple[int, int, float]]:
    """(start, end, score) of street addresses in ``text`` (may overlap: resolved later)."""
    for start, end, score in _street_candidates(text):
        if text[end - 1] == "." and not _ABBREVIATED.search(text, 0, end):
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
