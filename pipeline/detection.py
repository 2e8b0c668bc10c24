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
import functools
import multiprocessing
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from presidio_analyzer import EntityRecognizer, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    UsSsnRecognizer,
)

# Texts are joined with a separator no recognizer's pattern can cross.
_SEPARATOR = "\n\x00\n"
# Presidio's context enhancement: a context word close before a hit raises its score.
_CONTEXT_BOOST = 0.35
_CONTEXT_WINDOW = 40
# Which entity wins when two hits overlap (after length).
PRIORITY = {"EMAIL_ADDRESS": 9, "IBAN_CODE": 8, "CREDIT_CARD": 7, "US_SSN": 6,
            "IP_ADDRESS": 5, "PHONE_NUMBER": 4}
SPACY_TO_ENTITY = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
                   "FAC": "LOCATION", "NORP": "NRP"}
NER_ENTITIES = frozenset(SPACY_TO_ENTITY.values())
_PATTERN_RECOGNIZERS: dict[str, Callable[[], PatternRecognizer]] = {
    "EMAIL_ADDRESS": EmailRecognizer,
    "CREDIT_CARD": CreditCardRecognizer,
    "IBAN_CODE": IbanRecognizer,
    "IP_ADDRESS": IpRecognizer,
    "US_SSN": UsSsnRecognizer,
}
SUPPORTED_ENTITIES = frozenset(_PATTERN_RECOGNIZERS) | {"PHONE_NUMBER"} | NER_ENTITIES
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w.+-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d[\d\s.-]{5,16}\d(?![\w-])")
_DATE_SHAPE = re.compile(r"^\d{4}[./-]\d{1,2}[./-]\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")
_TAG = re.compile(r"<[A-Z][A-Z0-9_]*>")
# Two or three ALL-CAPS words in a row: a shouted name ("JOHN SMITH"), not an acronym ("IBAN").
_SHOUTED_NAME = re.compile(r"\b[^\W\d_a-z]{2,}(?:[ '-][^\W\d_a-z]{2,}){1,2}\b")
# The small model often labels names ORG or GPE. Such a span is taken for a person when it is
# shaped like a name and a person cue stands right before or after it.
# A name part: letters, with inner hyphens and apostrophes ("Eun-ji", "O'Neil").
_REST = r"(?:[^\W\d_]|['-](?=[^\W\d_]))*"
_PART = r"[^\W\d_]" + _REST
_NAME_SHAPED = re.compile(rf"^{_PART}(?:[ '-]{_PART}){{0,2}}$")
_CUE_BEFORE = re.compile(
    r"(?:\b(?:with|to|for|from|by|per|cc|customer|client|agent|colleague|mr|ms|mrs|miss|dr|pt|"
    r"patient|"
    r"dear|hi|hello|thanks|caller|spoke|told|asked|emailed|called|named|verified|holder is|"
    r"escalated to|wife|husband|spouse|partner|mother|father|daughter|son|sister|brother|niece|"
    r"nephew|aunt|uncle|grandson|granddaughter|cousin|friend|neighbou?r|caregiver|guardian)"
    r"\.?,?\s+)$",
    re.IGNORECASE)
_CUE_AFTER = re.compile(
    r"^\s*(?:'s\b|requested|asked|called|phoned|rang|said|says|confirmed|wants|wanted|"
    r"reported|complained|mentioned|emailed|wrote|replied|agreed|explained|insisted|disputes|"
    r"disputed|moved|requested|wants|called|confirmed|says|seen|can be reached|checks|visits|"
    r"will|would|has|had|is|was|cannot|can't|could|needs|prefers|added)\b", re.IGNORECASE)
_REINTERPRETED = frozenset({"ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "WORK_OF_ART"})
# Role nouns that open support notes ("Customer asked", "Courier called"): never a name.
_NOT_NAMES = frozenset({
    "customer", "client", "courier", "caller", "agent", "user", "account", "team", "support",
    "manager", "driver", "bank", "order", "card", "admin", "system", "store", "shop", "company",
    "refund", "delivery", "supervisor", "merchant", "seller", "buyer", "tech", "engineer",
    # Field labels in front of an identifier ("Tel: +1 ...", "Email: ...").
    "tel", "phone", "mobile", "cell", "fax", "email", "mail", "ssn", "dob", "mrn", "iban",
    "ip", "address", "ref", "reference", "id", "acct", "member", "policy", "note",
    "notes", "session", "login", "called", "contact"})
# A title before a capitalized word is a name, whatever NER says ("Mrs. Girard").
_HONORIFIC_NAME = re.compile(
    r"(?-i:\b(?:Mr|Ms|Mrs|Miss|Mx|Dr|Prof)\.?\s+)"
    rf"((?-i:[A-Z]{_REST})(?:[ '-](?-i:[A-Z]{_REST})){{0,2}})")
_WORD_TOKEN = re.compile(_PART)
# Words that introduce a person but are not part of the name ("Per Hao", "Customer Kenji").
_CUE_WORDS = frozenset({
    "per", "with", "to", "for", "from", "by", "cc", "customer", "client", "verified", "spoke",
    "called", "caller", "mr", "ms", "mrs", "miss", "dr", "dear", "hi", "hello", "thanks", "is",
    "agent", "colleague", "holder", "named", "told", "asked", "emailed", "escalated", "wife",
    "husband", "spouse", "partner", "mother", "father", "daughter", "son", "sister", "brother",
    "niece", "nephew", "aunt", "uncle", "grandson", "granddaughter", "cousin", "friend",
    "neighbor", "neighbour", "caregiver", "guardian", "pt", "patient", "seen"})
# "Folake Adeyemi (<MEDICAL_RECORD_NUMBER>, ...)": a name is what an identifier follows.
_IDENTIFIER_AFTER = re.compile(r"^\s*[(,:]\s*<[A-Z][A-Z0-9_]*>")
_SSN_SHAPE = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")
_NER_EXCLUDE = ["parser", "lemmatizer", "attribute_ruler", "tagger", "senter", "morphologizer"]


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    entity: str
    score: float


def _invalid_ssn(text: str) -> bool:
    digits = "".join(ch for ch in text if ch.isdigit())
    return len(digits) != 9 or digits[0] == "9" or digits[:3] in ("000", "666") or \
        digits[3:5] == "00" or digits[5:] == "0000"


def _plausible_person(text: str) -> bool:
    """spaCy tags '****-6196' or '4111 1111' as people: a name has letters."""
    return sum(ch.isalpha() for ch in text) >= 2


@functools.lru_cache(maxsize=4)
def load_ner(model: str):
    """spaCy with only the components NER needs: a third of the full pipeline's time."""
    import spacy

    return spacy.load(model, exclude=_NER_EXCLUDE)


def title_case_shouting(text: str) -> str:
    """Shouted names in Title case, same length, so offsets still hold (tags untouched)."""
    def fix(match: re.Match[str]) -> str:
        return match.group(0).title()

    pieces, last = [], 0
    for tag in _TAG.finditer(text):
        pieces.append(_SHOUTED_NAME.sub(fix, text[last:tag.start()]))
        pieces.append(tag.group(0))
        last = tag.end()
    pieces.append(_SHOUTED_NAME.sub(fix, text[last:]))
    return "".join(pieces)


def _tag_spans(text: str) -> list[tuple[int, int]]:
    return [tag.span() for tag in _TAG.finditer(text)]


def _in_tag(tags: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) touches one of the replacement tags (such as <PHONE_NUMBER>)."""
    return any(start < tag_end and end > tag_start for tag_start, tag_end in tags)


def outside_tags(text: str, hits: list[Hit]) -> list[Hit]:
    """The hits that are not just an earlier replacement tag (text already redacted once)."""
    return [h for h in hits if not _TAG.fullmatch(text[h.start:h.end].strip())]


def cued_names(sentence: str) -> list[tuple[int, int]]:
    """Runs of one to three capitalized words with a person cue right before or after them.

    NER alone misses many names the small model has not seen ("Spoke with Thảo Lê about");
    support notes introduce people in a few set ways, and those cues are read here.
    """
    found: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []

    def close() -> None:
        if run and len(run) <= 3:
            start, end = run[0].start(), run[-1].end()
            acronym = any(w.group(0).isupper() and len(w.group(0)) <= 4 for w in run) and \
                not all(w.group(0).isupper() for w in run)
            if not acronym and (_CUE_BEFORE.search(sentence[max(0, start - 24):start])
                    or _CUE_AFTER.match(sentence[end:end + 24])
                    or _IDENTIFIER_AFTER.match(sentence[end:end + 40])) and not (
                    len(run) == 1 and run[0].group(0).isupper()):
                found.append((start, end))
        run.clear()

    tags = _tag_spans(sentence)
    for word in _WORD_TOKEN.finditer(sentence):
        text = word.group(0)
        if _in_tag(tags, word.start(), word.end()):
            close()
            continue
        joined = run and sentence[run[-1].end():word.start()] in (" ", "-")
        if not text[0].isupper() or text.lower() in _CUE_WORDS or text.lower() in _NOT_NAMES:
            close()
            continue
        if run and not joined:
            close()
        run.append(word)
    close()
    return found


def ner_entity(label: str, sentence: str, start: int, end: int) -> str | None:
    """The Presidio entity for a spaCy span, reading a cued, name-shaped ORG/GPE as PERSON."""
    span = sentence[start:end]
    if label in _REINTERPRETED and _NAME_SHAPED.match(span) and span[0].isupper() and \
            not (span.isupper() and " " not in span) and span.lower() not in _NOT_NAMES and \
            span.lower() not in _CUE_WORDS and (
            _CUE_BEFORE.search(sentence[max(0, start - 24):start])
            or _CUE_AFTER.match(sentence[end:end + 24])):
        return "PERSON"
    return SPACY_TO_ENTITY.get(label)


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
        phone_regions: Sequence[str] = ("US", "GB", "DE", "FR", "ES", "PL"),
        spacy_model: str | None = None,
        language: str = "en",
    ):
        self.entities = frozenset(entities)
        self.threshold = threshold
        self.recognizers: list[PatternRecognizer] = [
            factory() for entity, factory in _PATTERN_RECOGNIZERS.items()
            if entity in self.entities
        ]
        self.recognizers += [r for r in custom
                             if not self.entities.isdisjoint(r.supported_entities)]
        self.recognizers += [
            PatternRecognizer(supported_entity=entity, deny_list=words,
                              supported_language=language, name=f"deny_{entity.lower()}")
            for entity, words in (deny_lists or {}).items() if words
        ]
        self.allow = {word.lower() for word in allow_list}
        self.phone_regions = tuple(phone_regions)
        self.ner_entities = self.entities & NER_ENTITIES
        if self.ner_entities and not spacy_model:
            raise ValueError(f"entities {sorted(self.ner_entities)} need a spaCy model")
        self.spacy_model = spacy_model

    def scan(self, texts: Sequence[str], progress: Callable[[int], None] | None = None
             ) -> list[list[Hit]]:
        """Entities in each text (offsets into that text), overlaps resolved."""
        hits: list[list[Hit]] = [[] for _ in texts]
        if not texts:
            return hits
        joined = _SEPARATOR.join(texts)
        starts = _starts(texts)
        for recognizer in self.recognizers:
            for result in recognizer.analyze(joined, recognizer.supported_entities, None):
                self._place(hits, joined, starts, texts, result.start, result.end,
                            result.entity_type, result.score, recognizer)
        if "PHONE_NUMBER" in self.entities:
            for match in _PHONE_CANDIDATE.finditer(joined):
                if self._is_phone(match.group(0)):
                    self._place(hits, joined, starts, texts, match.start(), match.end(),
                                "PHONE_NUMBER", 0.75, None)
        if "PERSON" in self.entities:
            for match in _HONORIFIC_NAME.finditer(joined):
                self._place(hits, joined, starts, texts, match.start(1), match.end(1),
                            "PERSON", 0.85, None)
        hits = [resolve_hits(h) for h in hits]
        if self.ner_entities:
            self._ner(texts, hits, progress)
            hits = [resolve_hits(extend_names(text, h)) for text, h in zip(texts, hits,
                                                                              strict=True)]
        elif progress:
            progress(len(texts))
        return hits

    def _place(self, hits: list[list[Hit]], joined: str, starts: list[int], texts: Sequence[str],
               start: int, end: int, entity: str, score: float,
               recognizer: EntityRecognizer | None) -> None:
        index = bisect.bisect_right(starts, start) - 1
        local_start, local_end = start - starts[index], end - starts[index]
        text = texts[index]
        if local_end > len(text):
            return  # crossed into the separator: not a real match
        value = text[local_start:local_end]
        if value.strip().lower() in self.allow:
            return
        if entity == "US_SSN" and _invalid_ssn(value):
            return
        if recognizer is not None and recognizer.context:
            window = text[max(0, local_start - _CONTEXT_WINDOW):local_start].lower()
            if any(word.lower() in window for word in recognizer.context):
                score = min(1.0, max(score + _CONTEXT_BOOST, 0.4))
        if score >= self.threshold:
            hits[index].append(Hit(local_start, local_end, entity, score))

    def _is_phone(self, candidate: str) -> bool:
        digits = sum(ch.isdigit() for ch in candidate)
        stripped = candidate.strip()
        if digits < 7 or digits > 15 or _DATE_SHAPE.match(stripped) or _SSN_SHAPE.match(stripped):
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

    def _ner(self, texts: Sequence[str], hits: list[list[Hit]],
             progress: Callable[[int], None] | None) -> None:
        """NER on distinct sentences of the texts, with pattern hits already replaced by tags."""
        occurrences: dict[str, list[tuple[int, list[tuple[int, int, int]], int]]] = \
            defaultdict(list)
        for index, text in enumerate(texts):
            masked, segments = _mask(text, hits[index])
            position = 0
            for sentence in _SENTENCE_END.split(masked):
                offset = masked.index(sentence, position)
                position = offset + len(sentence)
                if any(ch.isupper() for ch in sentence):
                    occurrences[sentence].append((index, segments, offset))
        sentences = list(occurrences)
        entities = named_entities(self.spacy_model, [title_case_shouting(s) for s in sentences])
        for done, (sentence, ents) in enumerate(zip(sentences, entities, strict=True), start=1):
            tags = _tag_spans(sentence)
            for ent_start, ent_end, label in ents:
                entity = ner_entity(label, sentence, ent_start, ent_end)
                if entity not in self.ner_entities:
                    continue
                span = sentence[ent_start:ent_end]
                if _in_tag(tags, ent_start, ent_end) or (
                        entity == "PERSON" and not _plausible_person(span)):
                    continue
                if span.strip().lower() in self.allow:
                    continue
                for index, segments, offset in occurrences[sentence]:
                    start = _unmask(segments, offset + ent_start)
                    end = _unmask(segments, offset + ent_end - 1) + 1
                    hits[index].append(Hit(start, end, entity, 0.85))
            if "PERSON" in self.ner_entities:
                for start, end in cued_names(title_case_shouting(sentence)):
                    for index, segments, offset in occurrences[sentence]:
                        hits[index].append(Hit(_unmask(segments, offset + start),
                                               _unmask(segments, offset + end - 1) + 1,
                                               "PERSON", 0.6))
            if progress and done % 1000 == 0:
                progress(1000)
        if progress:
            progress(len(sentences) % 1000)


# Below this many sentences a second process costs more than it saves.
_PARALLEL_FROM = 2000


def _entities_of(model: str, sentences: list[str]) -> list[list[tuple[int, int, str]]]:
    """(start, end, label) of every entity: plain tuples, cheap to send between processes."""
    nlp = load_ner(model)
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents]
            for doc in nlp.pipe(sentences, batch_size=256)]


def named_entities(model: str, sentences: list[str]) -> list[list[tuple[int, int, str]]]:
    """spaCy NER over ``sentences``, split over both cores when there are many.

    spaCy's own ``n_process`` ships whole Docs back and the parent spends longer decoding them
    than the children spent on NER; a forked worker that returns tuples halves the time. The
    model is loaded before the fork, so the worker shares it instead of loading it again.
    """
    load_ner(model)
    if len(sentences) < _PARALLEL_FROM or multiprocessing.cpu_count() < 2:
        return _entities_of(model, sentences)
    half = len(sentences) // 2
    with multiprocessing.get_context("fork").Pool(1) as pool:
        second = pool.apply_async(_entities_of, (model, sentences[half:]))
        first = _entities_of(model, sentences[:half])
        return first + second.get()


_NAME_RIGHT = re.compile(rf"^(?:[ ](?-i:[A-Z]){_PART}|-[^\W\d_]+)")
_NAME_LEFT = re.compile(rf"(?:^|(?<=[\s(]))((?-i:[A-Z]){_PART})[ -]$")


def extend_names(text: str, hits: list[Hit]) -> list[Hit]:
    """Grow each person hit over the rest of the name: NER often stops at part of it.

    "Eun-ji Choi" found as "Choi", or "Ji-woo Park" as "Ji": capitalized words (and hyphen
    parts) touching a person hit join it, unless they are cue or role words.
    """
    grown = []
    for hit in hits:
        if hit.entity != "PERSON":
            grown.append(hit)
            continue
        start, end = hit.start, hit.end
        while match := _NAME_RIGHT.match(text[end:]):
            word = match.group(0).strip(" -").lower()
            if word in _CUE_WORDS or word in _NOT_NAMES:
                break
            end += match.end()
        while match := _NAME_LEFT.search(text[:start]):
            word = match.group(1).lower()
            if word in _CUE_WORDS or word in _NOT_NAMES or _TAG.search(match.group(0)):
                break
            start = match.start(1)
        grown.append(Hit(start, end, hit.entity, hit.score))
    for tag in re.finditer(r"<PERSON>", text):
        # In text redacted once already, the rest of a half-redacted name touches its tag.
        anchor = extend_names(text[:tag.start()] + "X" * (tag.end() - tag.start()) +
                              text[tag.end():], [Hit(tag.start(), tag.end(), "PERSON", 1.0)])[0]
        if anchor.start < tag.start():
            grown.append(Hit(anchor.start, tag.start(), "PERSON", 0.85))
        if anchor.end > tag.end():
            grown.append(Hit(tag.end(), anchor.end, "PERSON", 0.85))
    return grown


def _starts(texts: Sequence[str]) -> list[int]:
    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text) + len(_SEPARATOR)
    return starts


def resolve_hits(hits: list[Hit]) -> list[Hit]:
    """Non-overlapping hits: the longer wins, then the stronger entity, then the higher score."""
    ordered = sorted(hits, key=lambda h: (-(h.end - h.start), -PRIORITY.get(h.entity, 0),
                                          -h.score, h.start))
    kept: list[Hit] = []
    for hit in ordered:
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


def _mask(text: str, hits: list[Hit]) -> tuple[str, list[tuple[int, int, int]]]:
    """``text`` with hits replaced by tags, and (masked_start, original_start, length) pieces."""
    pieces, segments, last, masked_length = [], [], 0, 0
    for hit in hits:
        plain = text[last:hit.start]
        segments.append((masked_length, last, len(plain)))
        tag = f"<{hit.entity}>"
        pieces += [plain, tag]
        masked_length += len(plain) + len(tag)
        last = hit.end
    segments.append((masked_length, last, len(text) - last))
    pieces.append(text[last:])
    return "".join(pieces), segments


def _unmask(segments: list[tuple[int, int, int]], masked_position: int) -> int:
    """Original offset of a masked-text position that lies outside every tag."""
    index = bisect.bisect_right([s[0] for s in segments], masked_position) - 1
    masked_start, original_start, _ = segments[max(index, 0)]
    return original_start + (masked_position - masked_start)


def replace_hits(text: str, hits: Sequence[Hit]) -> str:
    """Presidio's ``replace`` operator: each hit becomes its ``<ENTITY>`` tag."""
    pieces, last = [], 0
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start < last:
            continue
        pieces += [text[last:hit.start], f"<{hit.entity}>"]
        last = hit.end
    pieces.append(text[last:])
    return "".join(pieces)
