"""Fast PII detection over a whole column of free text.

Presidio's engines analyze one cell at a time: every recognizer's regex, every validation and a
full spaCy pipeline run once per cell, and the per-cell Python (the phone recognizer above all)
costs more than NER itself. Here the same Presidio recognizers (their regexes, checksums and
context words) run once over the whole column joined into one string, so candidate finding is a
single regex pass per entity with validation only on hits. NER then runs only where it is
needed: pattern hits are first replaced by tags, the text is cut into sentences, identical
sentences are analyzed once, ALL-CAPS words are shown to the model in Title case (the small
model misses all-caps names), and spaCy runs with its NER components only, batched, on both
cores for large inputs. A sentence too long for the model (a log pasted into one cell, with no
sentence end in a megabyte) is read in overlapping pieces (``pipeline.privacy.ner.pieces``).

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

from pipeline.privacy.addresses import CONTEXT_WINDOW, street_addresses
from pipeline.privacy.entities import DEFAULT_PHONE_REGIONS, NER_ENTITIES, PATTERN_RECOGNIZERS
from pipeline.privacy.names import (
    HONORIFIC_NAME,
    complete_names,
    cued_names,
    laid_out_names,
    middle_initial_names,
    name_shaped,
    ner_entity,
    plausible_person,
    title_case_shouting,
)
from pipeline.privacy.ner import PIECE_CHARS, named_entities
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
# One line only (a phone never continues on the next line), an extension allowed, and never
# the date and hour of a timestamp ("2025-09-29 13:07").
# After an area code in parentheses the rest may be short ("(07700)521437"); the count of
# digits is checked afterwards. Five or six digits in groups ("33 64 74") are candidates too,
# but only a phone context word makes them phones (``_SHORT_PHONE``).
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w.+-])(?:\+\d{1,3}[ .-]?)?"
    r"(?:\(\d{1,5}\)[ .-]?\d[\d \t.-]{2,16}\d|\d[\d \t.-]{5,16}\d|\d{2,3}(?:[ .-]\d{2,3}){1,2})"
    r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?(?![\w-]|:\d|[.,]\d)"
)
# Three groups of two or three digits ("33 64 74", "94-50-72"), or two groups of three apart
# by a space or hyphen ("485 962"); an amount ("822.57") has two groups and a dot.
_SHORT_PHONE = re.compile(r"^\d{2,3}([ .-])\d{2,3}\1\d{2,3}$|^\d{3}[ -]\d{3}$")
_EXTENSION = re.compile(r"[ ]?(?:x|ext\.?)[ ]?\d{1,6}$")
# A date opens a candidate ("2025-09-29 13:07"): day, month and year groups with one separator,
# not followed by that separator and more digits ("01.43.93.58.85" and "52-28-62-17" are
# phone numbers written in groups, not dates).
_DATE_START = re.compile(r"^\d{1,4}([./-])\d{1,2}\1\d{2,4}(?!\d|\1\d)")
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
_IPV4_SHAPE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_THE = re.compile(r"^the\s+")
# Where a sentence ends: after ".", "!", "?" or ";" and a space, but not after a title of
# address ("Mr.", "ms.", "Dr.": "with ms. Éva" is one sentence, its cue and its name).
_TITLES = ("mr", "ms", "mrs", "mx", "dr", "prof", "sr", "sra", "mme", "mlle")
_SENTENCE_END = re.compile(
    r"(?<=[.!?;])"
    + "".join(rf"(?<!\b{t}\.)(?<!\b{t.capitalize()}\.)(?<!\b{t.upper()}\.)" for t in _TITLES)
    + r"\s+"
)
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
        and not _IPV4_SHAPE.match(stripped)
    )


def _short_phone(candidate: str) -> bool:
    """Five or six digits in groups (``_SHORT_PHONE``) that are not a calendar date."""
    digits = sum(ch.isdigit() for ch in candidate)
    return digits <= 6 and bool(_SHORT_PHONE.match(candidate)) and not _calendar_date(candidate)


def _calendar_date(candidate: str) -> bool:
    """Whether three short groups read as a day, a month and a year ("12.05.24", "05-12-24"):
    a date, not a short phone number."""
    groups = [int(g) for g in re.split(r"[ .-]", candidate)]
    return len(groups) == 3 and (
        (1 <= groups[0] <= 31 and 1 <= groups[1] <= 12)
        or (1 <= groups[0] <= 12 and 1 <= groups[1] <= 31)
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
    """Finds entities in many texts at once; built once per policy, reused for every column.

    ``ner_piece_chars`` is the longest text NER reads in one go; a longer sentence is read in
    overlapping pieces (see ``pipeline.privacy.ner.pieces``).
    """

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
        ner_piece_chars: int = PIECE_CHARS,
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
        self.ner_piece_chars = ner_piece_chars

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
            for start, end in middle_initial_names(column.joined):
                self._place(column, start, end, "PERSON", 0.7)

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
            said = _phone_context(column.joined, match.start())
            if _short_phone(match.group(0)):
                # Five or six digits in groups: a short national number ("call 33 64 74")
                # only where the text says it is a phone; otherwise a code, a date or a sum.
                if said:
                    self._place(column, match.start(), match.end(), "PHONE_NUMBER", 0.5)
            elif self._is_phone(match.group(0)):
                self._place(column, match.start(), match.end(), "PHONE_NUMBER", 0.75)
            elif said and _phone_shaped(match.group(0)):
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
            window = text[max(0, local_start - CONTEXT_WINDOW) : local_start].lower()
            if any(word.lower() in window for word in recognizer.context):
                score = min(1.0, max(score + _CONTEXT_BOOST, 0.4))
        if score >= self.threshold:
            column.hits[index].append(Hit(local_start, local_end, entity, score))

    def _is_phone(self, candidate: str) -> bool:
        candidate = _EXTENSION.sub("", candidate)
        digits = sum(ch.isdigit() for ch in candidate)
        stripped = candidate.strip()
        if digits < 7 or digits > 15 or _SSN_SHAPE.match(stripped) or _IPV4_SHAPE.match(stripped):
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
        found = named_entities(
            self.spacy_model, [title_case_shouting(s) for s in sentences], self.ner_piece_chars
        )
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
            if sentence.lower() != sentence:  # a capital letter (no Python loop over a long one)
                sentences[sentence].occurrences.append((index, segments, offset))
    return sentences
