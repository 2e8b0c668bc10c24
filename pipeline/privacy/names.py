"""Person names that NER alone misses: cued names, titles, shouted names, half-found names.

The small spaCy model misses many names it has not seen ("Spoke with Thảo Lê about"), labels
others ORG or GPE, misses ALL-CAPS names and often stops at part of a name. These rules read
the cues notes use to introduce people (see ``person_cues``) and repair what NER found.
"""

import re
from collections.abc import Collection, Iterable

from spacy.lang.en.stop_words import STOP_WORDS
from wordfreq import zipf_frequency

from pipeline.privacy.entities import NER_ENTITIES, SPACY_TO_ENTITY
from pipeline.privacy.person_cues import PERSON_NOUNS, cued, never_a_name
from pipeline.privacy.spans import TAG, Hit, in_tag, tag_spans

# A name part: letters, with inner hyphens and apostrophes ("Eun-ji", "O'Neil").
_REST = r"(?:[^\W\d_]|['-](?=[^\W\d_]))*"
_PART = r"[^\W\d_]" + _REST
_NAME_SHAPED = re.compile(rf"^{_PART}(?:[ '-]{_PART}){{0,2}}$")
_WORD_TOKEN = re.compile(_PART)
# A title before a capitalized word is a name, whatever NER says ("Mrs. Girard").
HONORIFIC_NAME = re.compile(
    r"(?-i:\b(?:Mr|Ms|Mrs|Miss|Mx|Dr|Prof)\.?\s+|\b(?:mr|ms|mrs|mx|dr|prof)\.\s*)"
    rf"((?-i:[A-Z]{_REST})(?:[ '-](?-i:[A-Z]{_REST})){{0,2}})"
)
# A given name, a middle initial and a surname ("Aino K. Virtanen", "Tomas R Quell"): the
# shape of a name whatever the words. Not the pronoun "I" without a dot ("then I Went").
MIDDLE_INITIAL_NAME = re.compile(
    rf"(?<![\w'-])((?-i:[A-ZÀ-ÖØ-Þ]){_REST}[ ](?:(?-i:[A-HJ-ZÀ-ÖØ-Þ])\.?|I\.)[ ]"
    rf"(?-i:[A-ZÀ-ÖØ-Þ]){_REST})(?![\w'-])"
)
# Two or three ALL-CAPS words in a row: a shouted name ("JOHN SMITH"), not an acronym ("IBAN").
_SHOUTED_NAME = re.compile(r"\b[^\W\d_a-z]{2,}(?:[ '-][^\W\d_a-z]{2,}){1,2}\b")
# "Folake Adeyemi (<MEDICAL_RECORD_NUMBER>, ...)": a name is what an identifier follows.
_IDENTIFIER_AFTER = re.compile(r"^\s*[(,:]\s*<[A-Z][A-Z0-9_]*>")
# Labels the small model gives names; read as PERSON when cued and name-shaped.
_REINTERPRETED = frozenset({"ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "WORK_OF_ART"})
_NAME_RIGHT = re.compile(rf"^(?:[ ](?-i:[A-Z]){_PART}|-[^\W\d_]+)")
_NAME_LEFT = re.compile(rf"(?:^|(?<=[\s(]))((?-i:[A-Z]){_PART})[ -]$")
# How far beside a name ``_grow`` and ``coordinated_names`` look: further than any name part.
_REACH = 200


def plausible_person(text: str) -> bool:
    """spaCy tags '****-6196' or '4111 1111' as people: a name has letters, not only words
    of the language's closed classes ("What", "My")."""
    words = [w.lower() for w in _WORD_TOKEN.findall(text)]
    return sum(ch.isalpha() for ch in text) >= 2 and not all(w in STOP_WORDS for w in words)


def name_shaped(text: str) -> bool:
    """A proper name: a capitalized word that is not all capitals, nor a function word."""
    return any(
        w[0].isupper() and not w.isupper() and len(w) >= 2 and w.lower() not in STOP_WORDS
        for w in _WORD_TOKEN.findall(text)
    ) and not TAG.search(text)


# Zipf frequency (log10 uses per billion words) from which a word is everyday English ("update",
# "status", "options"): such words fill the slots of forms and lists as often as names do.
_EVERYDAY_ZIPF = 4.5


def everyday_word(word: str) -> bool:
    """Whether ``word`` is everyday English (``wordfreq``), so a slot alone cannot make it a
    name: "Update: refund issued" beside a speaker label that is a name."""
    return zipf_frequency(word.lower(), "en") >= _EVERYDAY_ZIPF


def common_word(word: str) -> bool:
    """A word of the language's closed classes ("What", "My", "Will"): never a name alone."""
    return word.lower() in STOP_WORDS


def title_case_shouting(text: str) -> str:
    """Shouted names in Title case, same length, so offsets still hold (tags untouched)."""

    def fix(match: re.Match[str]) -> str:
        return match.group(0).title()

    pieces, last = [], 0
    for tag in TAG.finditer(text):
        pieces.append(_SHOUTED_NAME.sub(fix, text[last : tag.start()]))
        pieces.append(tag.group(0))
        last = tag.end()
    pieces.append(_SHOUTED_NAME.sub(fix, text[last:]))
    return "".join(pieces)


def _is_cued_name(sentence: str, run: list[re.Match[str]]) -> bool:
    """A run of capitalized words is a name when cued, and not an acronym or one shouted word."""
    words = [w.group(0) for w in run]
    if len(words) > 3:
        return False
    if len(words) == 1 and words[0].isupper():
        return False
    acronyms = [w for w in words if w.isupper() and 2 <= len(w) <= 4]
    if acronyms and not all(w.isupper() for w in words):
        return False  # "IBAN Maria": an acronym beside a word, not a name
    start, end = run[0].start(), run[-1].end()
    return cued(sentence, start, end) or bool(_IDENTIFIER_AFTER.match(sentence[end : end + 40]))


def cued_names(sentence: str) -> list[tuple[int, int]]:
    """Runs of one to three capitalized words with a person cue right before or after them."""
    found: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []

    def close() -> None:
        if run and _is_cued_name(sentence, run):
            found.append((run[0].start(), run[-1].end()))
        run.clear()

    tags = tag_spans(sentence)
    for word in _WORD_TOKEN.finditer(sentence):
        text = word.group(0)
        if (
            in_tag(tags, word.start(), word.end())
            or not text[0].isupper()
            or never_a_name(text)
            or common_word(text)
        ):
            close()
            continue
        if run and sentence[run[-1].end() : word.start()] not in (" ", "-"):
            close()
        run.append(word)
    close()
    return found


def ner_entity(
    label: str, sentence: str, start: int, end: int, scanned: Collection[str] = ()
) -> str | None:
    """The Presidio entity for a spaCy span, reading a cued, name-shaped ORG/GPE as PERSON
    unless its own entity is ``scanned`` ("moved from Germany" stays a LOCATION)."""
    span = sentence[start:end]
    if (
        label in _REINTERPRETED
        and SPACY_TO_ENTITY.get(label) not in scanned
        and _NAME_SHAPED.match(span)
        and span[0].isupper()
        and not (span.isupper() and " " not in span)
        and not never_a_name(span)
        and cued(sentence, start, end)
    ):
        return "PERSON"
    return SPACY_TO_ENTITY.get(label)


def _grow(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` over capitalized words (and hyphen parts) touching it.

    Each step reads only the ``_REACH`` characters beside the span: a cell can be megabytes
    long, and copying or searching all of it once per name made long cells quadratic.
    """
    while match := _NAME_RIGHT.match(text[end : end + _REACH]):
        if never_a_name(match.group(0).strip(" -")):
            break
        end += match.end()
    # ``endpos`` stands for the end of the string (``$``); the lookbehind still sees before
    # ``pos``, so a word is never taken from its middle.
    while match := _NAME_LEFT.search(text, max(0, start - _REACH), start):
        if never_a_name(match.group(1)) or TAG.search(match.group(0)):
            break
        start = match.start(1)
    return start, end


def extend_names(text: str, hits: list[Hit]) -> list[Hit]:
    """Grow each person hit over the rest of the name: NER often stops at part of it.

    "Eun-ji Choi" found as "Choi", or "Ji-woo Park" as "Ji": capitalized words (and hyphen
    parts) touching a person hit join it, unless they are cue or role words.
    """
    grown = []
    for hit in hits:
        if hit.entity == "PERSON":
            hit = Hit(*_grow(text, hit.start, hit.end), hit.entity, hit.score)
        grown.append(hit)
    for tag in re.finditer(r"<PERSON>", text):
        # In text redacted once already, the rest of a half-redacted name touches its tag.
        start, end = _grow(text, tag.start(), tag.end())
        if start < tag.start():
            grown.append(Hit(start, tag.start(), "PERSON", 0.85))
        if end > tag.end():
            grown.append(Hit(tag.end(), end, "PERSON", 0.85))
    return grown


def _needles(text: str, hit: Hit) -> list[str]:
    """What else to look for once ``hit`` is found: its value and, for a person, each part of
    the name of three letters or more."""
    value = text[hit.start : hit.end].strip()
    needles = [value] if len(value) >= 2 and not common_word(value) else []
    if hit.entity == "PERSON":
        needles += [w for w in _WORD_TOKEN.findall(value) if len(w) >= 3 and not common_word(w)]
    return needles


def every_occurrence(text: str, hits: list[Hit], allow: Collection[str] = ()) -> list[Hit]:
    """``hits`` and every other occurrence, in the same text, of each name they found.

    A name found once ("Csanád") is a name wherever else it stands in the text ("had given
    Csanád his address"), in any case; so is each part of a person's name ("Walker").
    """
    named = [h for h in hits if h.entity in NER_ENTITIES]
    if not named:
        return hits
    entity_of: dict[str, Hit] = {}
    for hit in sorted(named, key=lambda h: -h.score):
        for needle in _needles(text, hit):
            if needle.lower() not in allow and not never_a_name(needle):
                entity_of.setdefault(needle.lower(), hit)
    if not entity_of:
        return hits
    tags = tag_spans(text)
    found = []
    for start, end, source in _occurrences(text, entity_of):
        if not in_tag(tags, start, end):
            found.append(Hit(start, end, source.entity, source.score))
    return hits + found


def _inside_word(char: str) -> bool:
    return char.isalnum() or char in "_'-"


def _occurrences(text: str, needles: dict[str, Hit]) -> Iterable[tuple[int, int, Hit]]:
    """Whole-word, case-insensitive occurrences of each (lower-case) needle in ``text``."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a character changed length when lowered: use a regex
        for needle, source in needles.items():
            for m in re.finditer(rf"(?<![\w'-]){re.escape(needle)}(?![\w'-])", text, re.I):
                yield m.start(), m.end(), source
        return
    for needle, source in needles.items():
        start = lowered.find(needle)
        while start != -1:
            end = start + len(needle)
            before = lowered[start - 1] if start else " "
            after = lowered[end] if end < len(lowered) else " "
            if not _inside_word(before) and not _inside_word(after):
                yield start, end, source
            start = lowered.find(needle, start + 1)


# --- Names that the layout of a text introduces ---------------------------------------------
# Forms, chat transcripts and letters say where a name stands without any cue word: the value
# of a field whose key is a name ("Name: ...", "full_name=..."), the speaker label of a chat
# line ("Anna: could you ..."), the line under a letter's closing ("Best regards,\n...").
# There the name is taken in any case ("enrique perez"), as NER cannot read lowercase names.
_ANY_WORD = r"[^\W\d_](?:[^\W\d_]|['’.-](?=[^\W\d_]))*\.?"
_VALUE = rf"{_ANY_WORD}(?:[ ]{_ANY_WORD}){{0,3}}"
_NAME_KEY = re.compile(
    rf"(?:(?P<qualifier>{_ANY_WORD})(?P<joint>[ _-]?))?(?<![^\W\d_])(?i:name)(?![^\W\d_])"
    rf"(?:[ \t]*(?:[:=|]|\bis\b)[ \t]*|\t+|[ ](?=[^\W\d_a-z]))[\"']?(?P<value>{_VALUE})"
)
# Words that may qualify a name key and leave it a person's name ("full name", "my name").
_PERSON_QUALIFIERS = frozenset((
    "full", "first", "last", "given", "family", "middle", "maiden", "legal", "customer",
    "client", "contact", "patient", "holder", "my", "his", "her", "their", "your", "partner's",
))  # fmt: skip
_SPEAKER = re.compile(
    rf"^(?:\[[\d:. -]+\][ \t]*)?(?P<label>{_ANY_WORD}(?:[ ]{_ANY_WORD}){{0,2}})"
    r"(?:[ \t]*\((?P<aside>[^)\n]{1,40})\))?[ \t]*:[ \t]+\S",
    re.MULTILINE,
)
# A form's line: a key, then ':', '=', '|' or tabs, then the value, to the end of the line.
_FIELD = re.compile(
    rf"^[ \t]*(?P<key>{_ANY_WORD}(?:[ _]{_ANY_WORD}){{0,2}})"
    r"(?:[ \t]*[:=|][ \t]*|\t+)(?P<value>[^\n]+?)[ \t]*$",
    re.MULTILINE,
)
# A letter's closing: a short line ending in a comma ("Best regards,"), the "--" that opens a
# signature, or a short line after a blank line ("\n\nMit freundlichen Grüßen"); the next line
# is then the sender's name.
_SIGNATURE = re.compile(
    rf"(?:^[ \t]*{_ANY_WORD}(?:[ ]{_ANY_WORD}){{0,2}},|^--|\n[ \t]*\n[ \t]*{_ANY_WORD}"
    rf"(?:[ ]{_ANY_WORD}){{0,3}})[ \t]*\n[ \t]*(?P<name>{_VALUE})[ \t]*$",
    re.MULTILINE,
)


def _name_words(value: str) -> str:
    """The leading words of ``value`` that can be a name (up to a function or role word)."""
    kept = []
    for word in value.split(" "):
        bare = word.rstrip(".")
        if common_word(bare) or never_a_name(bare) or (bare != word and len(bare) > 1):
            if bare != word and len(bare) > 1 and not common_word(bare):
                kept.append(bare)  # "Walker." at the end of a sentence
            break
        kept.append(word)
    return " ".join(kept)


def _field_names(text: str) -> Iterable[tuple[int, int]]:
    for match in _NAME_KEY.finditer(text):
        qualifier = match.group("qualifier") or ""
        in_key = match.group("joint") in ("_", "-") or qualifier[:1].isupper()
        if in_key and qualifier.lower() not in _PERSON_QUALIFIERS:
            continue  # "Company name", "file_name": the name of something else
        value = _name_words(match.group("value"))
        if value and sum(ch.isalpha() for ch in value) >= 2:
            yield match.start("value"), match.start("value") + len(value)


def _whole_name(text: str, start: int, end: int) -> Iterable[tuple[int, int]]:
    """``[start, end)`` when all of it can be a name."""
    value = text[start:end]
    if value and _name_words(value) == value and sum(ch.isalpha() for ch in value) >= 2:
        yield start, end


def _speaker_names(text: str) -> Iterable[tuple[int, int]]:
    """Speaker labels of a chat transcript (a text where some label starts two lines or
    more): "Anna: ...", "Agent Céline: ...", "Customer (leigh bird): ..."."""
    lines = list(_SPEAKER.finditer(text))
    counts: dict[str, int] = {}
    for match in lines:
        key = f"{match.group('label')} ({match.group('aside')})".lower()
        counts[key] = counts.get(key, 0) + 1
    if not counts or max(counts.values()) < 2:
        return
    for match in lines:
        label = match.group("label")
        roles = 0
        for word in label.split(" "):
            if not never_a_name(word):
                break
            roles += 1 + len(word)
        if roles < len(label):
            yield from _whole_name(text, match.start("label") + roles, match.end("label"))
        elif match.group("aside"):
            yield from _whole_name(text, *match.span("aside"))


def _form_names(text: str) -> Iterable[tuple[int, int]]:
    """In a form (two key-value lines or more), the value of a key naming a person's role
    ("Customer = adrien lemoine")."""
    fields = list(_FIELD.finditer(text))
    if len(fields) < 2:
        return
    for match in fields:
        key = re.split(r"[ _]", match.group("key").lower())[-1]
        if key in PERSON_NOUNS:
            yield from _whole_name(text, *match.span("value"))


def _signature_names(text: str) -> Iterable[tuple[int, int]]:
    for match in _SIGNATURE.finditer(text):
        value = _name_words(match.group("name"))
        if value == match.group("name").rstrip(".") and sum(ch.isalpha() for ch in value) >= 2:
            yield match.start("name"), match.start("name") + len(value)


# A contact card: a line that is one to three name-shaped words (an initial allowed) opens
# the text, and a later line is a phone or e-mail field, or holds an e-mail address.
_CARD_NAME = re.compile(
    rf"\A[ \t]*(?P<name>(?-i:[A-Z]){_REST}(?:[ ](?:(?-i:[A-Z])\.?|(?-i:[A-Z]){_REST})){{1,3}})"
    r"[ \t]*\n"
)
_CONTACT_LINE = re.compile(
    r"^[ \t]*(?i:phone|mobile|tel|telephone|fax|cell|desk|e-?mail)\b[ \t]*:|@[\w-]+\.",
    re.MULTILINE,
)


def _card_names(text: str) -> Iterable[tuple[int, int]]:
    """The name on the first line of a contact card ("Aino Virtanen\nAcme Oy\nPhone: ...")."""
    match = _CARD_NAME.match(text)
    if match and _CONTACT_LINE.search(text, match.end()):
        yield from _whole_name(text, *match.span("name"))


def laid_out_names(text: str) -> list[tuple[int, int]]:
    """Names that a form field, a chat speaker label, a letter's closing or a contact card
    introduces."""
    found = list(_field_names(text)) if "name" in text.lower() else []
    if "\n" in text:
        found += [
            *_form_names(text),
            *_speaker_names(text),
            *_signature_names(text),
            *_card_names(text),
        ]
    return found


_CAPITALIZED_RUN = rf"(?-i:[A-Z]){_PART}(?:[ ](?-i:[A-Z]){_PART}){{0,2}}"
_LIST_LEFT = re.compile(rf"(?<![\w'-])({_CAPITALIZED_RUN})(?:,[ ]|,?[ ](?:and|or|&)[ ])$")
_LIST_RIGHT = re.compile(rf"^(?:,[ ]|,?[ ](?:and|or|&)[ ])({_CAPITALIZED_RUN})(?![\w'-])")


def _listed(words: str) -> bool:
    return not any(never_a_name(w) or common_word(w) for w in words.split())


def coordinated_names(text: str, hits: list[Hit]) -> list[Hit]:
    """``hits`` and the capitalized names listed with a person ("Aslakhanov, Saunders and
    Allen"): what is coordinated with a name is a name."""
    found = []
    for hit in hits:
        if hit.entity != "PERSON":
            continue
        start, end = hit.start, hit.end
        while (match := _LIST_LEFT.search(text[max(0, start - 80) : start])) and _listed(
            match.group(1)
        ):
            offset = max(0, start - 80)
            found.append(Hit(offset + match.start(1), offset + match.end(1), "PERSON", hit.score))
            start = offset + match.start(1)
        while (match := _LIST_RIGHT.match(text[end : end + _REACH])) and _listed(match.group(1)):
            found.append(Hit(end + match.start(1), end + match.end(1), "PERSON", hit.score))
            end += match.end(1)
    return hits + found


def middle_initial_names(text: str) -> list[tuple[int, int]]:
    """Given name, middle initial, surname (``MIDDLE_INITIAL_NAME``) where neither word is a
    function, cue or role word, nor everyday English ("Vitamin D Sales" is not a name; a name
    of everyday words, "Will B Green", is left to NER)."""
    found = []
    for match in MIDDLE_INITIAL_NAME.finditer(text):
        words = _WORD_TOKEN.findall(match.group(1))
        outer = [words[0], words[-1]]
        if not any(
            common_word(w) or never_a_name(w) or w.isupper() or everyday_word(w) for w in outer
        ):
            found.append(match.span(1))
    return found


def speaker_slots(text: str, hits: list[Hit]) -> list[Hit]:
    """``hits`` and the other speaker labels of a transcript one of whose labels is a person:
    what stands in the same slot as a name is a name ("Hanne: ...\nDonald: ...\nHayley: ..."
    with NER finding two of the three). A label's leading role words ("Agent") stay, and a
    label of everyday words ("Update") is not made a name by its slot."""
    if "\n" not in text:
        return hits
    labels = [m for m in _SPEAKER.finditer(text) if _speech(text, m)]
    if len(labels) < 2:
        return hits
    people = [h for h in hits if h.entity == "PERSON"]
    named = [
        m
        for m in labels
        if any(h.start < m.end("label") and m.start("label") < h.end for h in people)
    ]
    if not named:
        return hits
    found = []
    for match in labels:
        if match in named:
            continue
        start = match.start("label") + _role_prefix(match.group("label"))
        if all(everyday_word(w) for w in _WORD_TOKEN.findall(text[start : match.end("label")])):
            continue
        for span in _whole_name(text, start, match.end("label")):
            found.append(Hit(*span, "PERSON", 0.6))
    return hits + found


def _speech(text: str, match: re.Match[str]) -> bool:
    """Whether what follows a speaker label is said, not a form's value: two words or more on
    the line, one of them in lower case ("Name: Ana Silva" and "Date: 2024-05-01" are not)."""
    line_end = text.find("\n", match.end())
    said = text[match.end() - 1 : line_end if line_end != -1 else len(text)]
    words = _WORD_TOKEN.findall(said)
    return len(words) >= 2 and any(w.islower() for w in words)


def _role_prefix(label: str) -> int:
    """Length of the role words opening a speaker label ("Agent " in "Agent Céline")."""
    roles = 0
    for word in label.split(" "):
        if not never_a_name(word):
            break
        roles += 1 + len(word)
    return min(roles, len(label))


def complete_names(text: str, hits: list[Hit], allow: Collection[str] = ()) -> list[Hit]:
    """Person hits grown over the whole name, names listed with them or in the same speaker
    slot, and every occurrence of each name found."""
    hits = speaker_slots(text, coordinated_names(text, extend_names(text, hits)))
    return every_occurrence(text, hits, allow)
