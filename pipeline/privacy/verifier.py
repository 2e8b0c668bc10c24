"""The residual-PII verifier: a second pair of eyes on redacted text, with a method of its own.

The redactor finds entities column-wide: its own card, e-mail and phone passes, Presidio's
pattern recognizers over joined text, NER with the small spaCy model on tag-masked, title-cased
sentences, cues and name rules. A gate that re-ran that scanner would share every one of its
blind spots and certify its own misses. The verifier instead runs vanilla Presidio:
``AnalyzerEngine`` with its default recognizers (its own phone, card, e-mail, IBAN, IP and SSN
recognizers) on each whole, unmasked cell, the way Presidio is documented to be used, on a
spaCy model of its own (``en_core_web_md`` by default: other weights, and word vectors the
small model lacks). Where case says nothing (a line typed in lower case) NER also reads a
truecased copy of the line, so a name typed "bruno wants the card" is seen; and rules of the
verifier's own (``verifier_rules``: a rare word beside a ``<PERSON>`` tag, phone numbers in
national formats, street addresses in any case) cover what Presidio has no recognizer for.
Words on the policy's allow list are terms of the trade, never flagged.

It reads every distinct text of a column, or, past a size, a seeded random sample big enough
to bound the residual rate at the policy's confidence. The rate (cells flagged / cells read)
is reported with a one-sided upper bound: Clopper-Pearson for a sample, the exact rate for a
census. Flagged spans are redacted before anything is published, so a value the verifier saw is
never published; the bound says how much it may not have seen.
"""

import functools
import hashlib
import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from presidio_analyzer import BatchAnalyzerEngine, PatternRecognizer, RecognizerResult
from scipy.stats import beta

from pipeline.privacy.entities import NER_ENTITIES
from pipeline.privacy.ner import pieces
from pipeline.privacy.presidio import build_lean_analyzer, build_pattern_analyzer
from pipeline.privacy.spans import Hit, in_tag, off_tags, resolve_hits, tag_spans
from pipeline.privacy.verifier_rules import (
    EVERYDAY_ZIPF,
    NameVectors,
    common_word,
    is_date_or_amount,
    phone_runs,
    rare_words,
    short_phones,
    speaker_labels,
    spread,
    street_shapes,
    tag_neighbours,
    titled_names,
    truecase,
    truecased_lines,
    vector_names,
)

VERIFIER_NAME = "presidio-analyzer (default recognizers, whole cells)"
_BATCH_SIZE = 64
_WORD = re.compile(r"[^\W\d_]+")
# Entities Presidio's own pattern recognizers find; a policy's recognizers may match anything.
# NER's other name types: read beside PERSON so a rare word NER calls a place is left alone.
_NOT_PEOPLE = frozenset({"LOCATION", "ORGANIZATION", "NRP"})
_STOCK_PATTERNS = frozenset(
    {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS"}
)


def upper_bound(flagged: int, scanned: int, population: int, confidence: float) -> float:
    """One-sided upper confidence bound of the rate of flagged cells in the population.

    A census (every cell read) has no sampling error: the bound is the observed rate.
    """
    if scanned == 0:
        return 0.0 if population == 0 else 1.0
    if scanned >= population:
        return flagged / scanned
    if flagged >= scanned:
        return 1.0
    return float(beta.ppf(confidence, flagged + 1, scanned - flagged))


def sample_size(budget: float, confidence: float) -> int:
    """Cells to read so that one flagged cell still keeps the bound within ``budget``.

    With none flagged, ``ln(1 - confidence) / ln(1 - budget)`` cells would do (about 3,000 for
    0.001 at 95%); allowing one leaves room to pass a policy that is good but not perfect.
    """
    low = math.ceil(math.log(1 - confidence) / math.log(1 - budget))
    high = low * 4
    while low < high:
        middle = (low + high) // 2
        if upper_bound(1, middle, middle + 1, confidence) <= budget:
            high = middle
        else:
            low = middle + 1
    return low


def choose_sample(texts: Sequence[str], size: int) -> list[int]:
    """Indices of a seeded random sample of ``texts`` (all of them if ``size`` covers them).

    The seed is the texts' own hash, so the same table is always verified on the same cells.
    """
    if size >= len(texts):
        return list(range(len(texts)))
    seed = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()
    return sorted(random.Random(seed).sample(range(len(texts)), size))


@dataclass(frozen=True)
class ResidualVerifier:
    """Vanilla Presidio over whole cells, for the entities a column must not contain."""

    spacy_model: str
    language: str = "en"
    threshold: float = 0.5
    recognizers: tuple[PatternRecognizer, ...] = ()
    allow: frozenset[str] = frozenset()  # lower-case words never flagged (policy allow_list)

    @property
    def name(self) -> str:
        """How the verifier is named in check metadata, the run summary and the BOM."""
        return f"{VERIFIER_NAME}, spaCy {self.spacy_model}"

    def flag(self, texts: Sequence[str], entities: Iterable[str]) -> list[list[Hit]]:
        """Per text, the spans of ``entities`` the verifier finds outside replacement tags."""
        wanted = sorted(set(entities))
        if not texts or not wanted:
            return [[] for _ in texts]
        texts = list(texts)
        people = [e for e in wanted if e in NER_ENTITIES]
        if not people and set(wanted) <= _STOCK_PATTERNS:
            return self._flag_patterns(texts, wanted)
        # NER's places, organizations and groups are read too, only to keep the rare-word
        # rule off them (``rare_words``); they are not flagged unless ``wanted``.
        context = sorted(set(wanted) | (_NOT_PEOPLE if "PERSON" in wanted else set()))
        found = self._read(texts, texts, context)
        if people:
            for i, more in enumerate(self._read_truecased(texts, people)):
                found[i] += more
        return [self._settle(text, hits, wanted) for text, hits in zip(texts, found, strict=True)]

    def _read_truecased(self, texts: list[str], people: list[str]) -> list[list[Hit]]:
        """NER's names in the truecased copies of lines typed without case (``recase``), each
        line read on its own, at their offsets in the whole text."""
        jobs = [
            (i, start, line)
            for i, text in enumerate(texts)
            for start, line in truecased_lines(text)
        ]
        found: list[list[Hit]] = [[] for _ in texts]
        if not jobs:
            return found
        originals = [texts[i][start : start + len(line)] for i, start, line in jobs]
        hits = self._read([line for _, _, line in jobs], originals, people)
        for (i, start, line), more in zip(jobs, hits, strict=True):
            found[i] += [
                Hit(h.start + start, h.end + start, h.entity, h.score)
                for h in more
                if not _common(line[h.start : h.end])
            ]
        return found

    def _settle(self, text: str, hits: list[Hit], wanted: list[str]) -> list[Hit]:
        """Presidio's hits in ``text`` with the verifier's own rules added (``verifier_rules``),
        allowed terms dropped, and every other occurrence of a flagged name word added."""
        if "PERSON" in wanted:
            not_people = [h for h in hits if h.entity in _NOT_PEOPLE]
            hits = [h for h in hits if h.entity in wanted]
            vectors = self._vectors()
            hits = hits + tag_neighbours(text) + speaker_labels(text, vectors) + titled_names(text)
            hits = hits + rare_words(text, not_people)
            hits = hits + vector_names(text, vectors, not_people)
        if "PHONE_NUMBER" in wanted:
            hits = hits + phone_runs(text) + short_phones(text)
        if "STREET_ADDRESS" in wanted:
            hits = hits + street_shapes(text)
        hits = [h for h in hits if not self._allowed(text[h.start : h.end])]
        return resolve_hits(hits + spread(text, hits, self.allow))

    def _vectors(self) -> NameVectors | None:
        """The verifier model's word vectors as ``NameVectors`` (None for a model without)."""
        return _name_vectors(self.spacy_model, self.language)

    def _flag_patterns(self, texts: list[str], wanted: list[str]) -> list[list[Hit]]:
        """Presidio's stock pattern recognizers alone, on the cells that could hold a match.

        A kept column (postcodes, plans, cities) is read for an e-mail, card, phone, IBAN, IP
        or SSN in a shifted field. Every one of these needs an "@", seven digits, or the dots
        or colons of an IP address: cells with none are skipped (the phone recognizer's
        per-cell parse was most of the verifier's time on a customers table), and no spaCy
        pass runs, since none of these entities comes from NER.
        """
        found: list[list[Hit]] = [[] for _ in texts]
        chosen = [i for i, text in enumerate(texts) if _may_hold_pattern(text)]
        if chosen:
            hits = self._analyze(
                [texts[i] for i in chosen], [texts[i] for i in chosen], wanted, patterns=True
            )
            for i, more in zip(chosen, hits, strict=True):
                found[i] = more
        return [self._settle(text, hits, wanted) for text, hits in zip(texts, found, strict=True)]

    def _allowed(self, span: str) -> bool:
        """Whether every word of a span is on the policy's allow list (terms of the trade)."""
        words = _WORD.findall(span.lower())
        return bool(words) and all(w in self.allow for w in words)

    def _read(self, reads: list[str], originals: list[str], entities: list[str]) -> list[list[Hit]]:
        """``_analyze`` on overlapping pieces of each text (``ner.pieces``: spaCy refuses a
        text longer than its ``max_length``); each piece keeps the hits that start in the
        range it owns, at their offsets in the whole text. A short text is one piece."""
        jobs = [(i, piece) for i, read in enumerate(reads) for piece in pieces(read)]
        results = self._analyze(
            [reads[i][p.start : p.end] for i, p in jobs],
            [originals[i][p.start : p.end] for i, p in jobs],
            entities,
        )
        found: list[list[Hit]] = [[] for _ in reads]
        for (i, piece), hits in zip(jobs, results, strict=True):
            found[i] += [
                Hit(h.start + piece.start, h.end + piece.start, h.entity, h.score)
                for h in hits
                if piece.owns_from <= h.start + piece.start < piece.owns_to
            ]
        return found

    def _analyze(
        self, reads: list[str], originals: list[str], entities: list[str], patterns: bool = False
    ) -> list[list[Hit]]:
        """Presidio's findings in each read (a same-length copy of its original), kept where
        they reach outside the original's replacement tags and look like what they claim."""
        analyzer = (
            build_pattern_analyzer(self.language)
            if patterns
            else build_lean_analyzer(self.spacy_model, self.language)
        )
        engine = BatchAnalyzerEngine(analyzer)
        extra = [r for r in self.recognizers if set(r.supported_entities) & set(entities)]
        known = set(analyzer.get_supported_entities(self.language))
        entities = [
            e for e in entities if e in known or any(e in r.supported_entities for r in extra)
        ]
        if not entities:  # Presidio refuses a request no recognizer serves (STREET_ADDRESS alone)
            return [[] for _ in reads]
        results = engine.analyze_iterator(
            reads,
            language=self.language,
            entities=entities,
            score_threshold=self.threshold,
            batch_size=_BATCH_SIZE,
            ad_hoc_recognizers=extra or None,
        )
        flagged = []
        for read, original, found in zip(reads, originals, results, strict=True):
            tags = tag_spans(original)
            kept = [
                Hit(r.start, r.end, r.entity_type, r.score)
                for r in found
                if _outside_tags(original, r, tags)
                and _shaped(read[r.start : r.end], r.entity_type)
                and not _date_or_id(original, r)
            ]
            flagged.append(off_tags(original, kept, tags))
        return flagged


@functools.lru_cache(maxsize=4)
def _name_vectors(spacy_model: str, language: str) -> NameVectors | None:
    vocab = build_lean_analyzer(spacy_model, language).nlp_engine.nlp[language].vocab
    return NameVectors(vocab) if vocab.vectors.shape[0] else None


def _may_hold_pattern(text: str) -> bool:
    """Whether ``text`` could hold a stock pattern entity: an "@" (e-mail), seven digits (the
    fewest in a phone number; cards, SSNs and IBANs have more), or an IP address's three dots
    or two colons."""
    digits = sum(ch.isdigit() for ch in text)
    return (
        "@" in text
        or digits >= 7
        or (digits >= 4 and text.count(".") >= 3)
        or (text.count(":") >= 2)
    )


def recase(text: str) -> str:
    """A copy of ``text`` for NER to read where case carries no information (``truecase``):
    same length, so the spans it finds are spans of the original; ``text`` itself when nothing
    changes. "called collin hendriks about the refund" reads "Called Collin Hendriks about the
    refund": the sentence's first word and the words that are not common English capitalized,
    so NER reads a sentence (every word capitalized reads as a headline, where it finds few
    names)."""
    return truecase(text)


def _common(span: str) -> bool:
    """A span NER finds in a truecased copy made only of stop words and everyday words ("The",
    "Said" at the start of a sentence) is not a name."""
    return all(common_word(w, EVERYDAY_ZIPF) for w in _WORD.findall(span))


def _shaped(span: str, entity: str) -> bool:
    """An NER span must look like a name: a capitalized word with lower-case letters.

    The small model calls clinical shorthand names ("CAP on CXR" gives PERSON "CAP"); a name
    written all in capitals is the redactor's job (it shows the model title case), not a
    reason to flag every abbreviation.
    """
    if entity not in NER_ENTITIES:
        return True
    return any(w[0].isupper() and any(c.islower() for c in w[1:]) for w in span.split())


def _date_or_id(text: str, hit: RecognizerResult) -> bool:
    """Whether a PHONE_NUMBER hit is a date, a time, an amount, or a number after "#" (a ticket
    or an order): Presidio's phone recognizer reads "29.09.2025 14" as a phone number."""
    if hit.entity_type != "PHONE_NUMBER":
        return False
    return text[hit.start - 1 : hit.start] == "#" or is_date_or_amount(text[hit.start : hit.end])


def _outside_tags(text: str, hit: RecognizerResult, tags: list[tuple[int, int]]) -> bool:
    """Whether the span has a letter or digit outside every replacement tag: NER on redacted
    text tags pieces of ``<PERSON>`` itself, or bare punctuation, and neither is a leak."""
    return any(
        ch.isalnum() and not in_tag(tags, i, i + 1)
        for i, ch in enumerate(text[hit.start : hit.end], start=hit.start)
    )
