"""The residual verifier's own rules, for what vanilla Presidio misses in redacted text.

Presidio reads names with NER and phone numbers with ``phonenumbers``; both rely on what a
careful writer gives them (capitals, an international prefix). Redacted support text often has
neither, and the redactor's misses are exactly there. These rules are the verifier's, not the
redactor's (they share no detector with ``scanner``, ``names`` or ``addresses``), and they rest on
one outside resource: how common a word is in English (``wordfreq``, Apache-2.0 code, CC-BY-SA
data shipped in its wheel, nothing downloaded at run time).

- ``truecase``: where case says nothing (a line typed in lower case, or with a shouted word),
  a copy cased the way an editor would: the first word of a sentence or a "label:" capitalized,
  and every word that is not a common English word; NER reads that copy;
- ``tag_neighbours``: a word right next to a ``<PERSON>`` tag that is not a common English word
  is the rest of that name ("<PERSON> polani");
- ``titled_names``: the word after a title of address ("ms. ryder") is a name;
- ``phone_runs``: seven or more digits in groups with a phone's separators, where the national
  format is one Presidio's phone recognizer does not parse;
- ``street_shapes``: a house number, words, a street-type word, in any case;
- ``short_phones``: five or six digits in groups ("33 64 74") where the line says phone;
- ``speaker_labels``: in a transcript, a label in the slot where other labels are ``<PERSON>``
  tags, or a label of rare words, is a name ("<PERSON>: ...\nHayley: ...");
- ``rare_words``: a word that is rare in English (``RARE_ZIPF``), capitalized or on a line
  typed without case, is a name unless NER calls it a place or an organization;
- ``spread``: a name word flagged once in a cell is flagged wherever else it appears there.
"""

import bisect
import functools
import re
from collections.abc import Iterable

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS
from wordfreq import zipf_frequency

from pipeline.privacy.spans import TAG, Hit, in_tag, tag_spans
from pipeline.privacy.street_types import STREET_TYPES

# Zipf frequency (log10 of uses per billion words) at or above which a word is common English:
# 3.5 is about one use in 300,000 words ("refund", "parcel", "login" are common; most surnames
# and many given names are not).
COMMON_ZIPF = 3.5
# What ends the text before a word that starts a sentence (the first word of a line always
# does): a full stop, question or exclamation mark, or the colon of a "label:".
_SENTENCE_MARKS = (".", "!", "?", ":")
# A word flagged as part of a name is spread to its other occurrences unless it is this common
# (4.5: "called", "card", "customer"; given names such as "alexander" are below it).
SPREAD_ZIPF = 4.5
# A name NER finds only in a truecased copy is dropped when all its words are this common (5.5:
# "said", "may", "will"; "john" is 5.4): capitalizing a sentence's first word makes them names.
EVERYDAY_ZIPF = 5.5
# A word at most this common (2.5: about one use in 300 million words) is a name, a place, a
# brand or a typo, not English: "demelza", "lundin", "satu" are below it; "parcel" is 3.7.
RARE_ZIPF = 2.5
# A speaker label of words at least this common is a role or a form key ("Update", "Agent",
# "User"), not a name, whatever stands in the other labels.
LABEL_ZIPF = 4.5
_WORD = re.compile(r"[^\W\d_]+")


@functools.lru_cache(maxsize=65536)
def _zipf(lower: str) -> float:
    return zipf_frequency(lower, "en")


def common_word(word: str, zipf: float = COMMON_ZIPF) -> bool:
    """Whether ``word`` is a stop word or an English word at least ``zipf`` common (any case)."""
    lower = word.lower()
    return lower in STOP_WORDS or _zipf(lower) >= zipf


# --------------------------------------------------------------------------------------------
# Truecasing where case says nothing
# --------------------------------------------------------------------------------------------


def truecase(text: str) -> str:
    """A copy of ``text`` cased as an editor would, for NER; same length (offsets are kept).

    Only lines typed without case are touched (``_caseless``): lower case throughout, or lower
    case with a name shouted in capitals ("DYLAN wants the card"). In those, the first word of
    each sentence and every word that is not common English is capitalized, and a shouted word
    of four letters or more reads capitalized ("Dylan"); common words stay lower case, so NER
    sees a sentence, not a headline ("bruno wants the card" reads "Bruno wants the card").
    Returns ``text`` itself when nothing changes.
    """
    out = list(text)
    for start, line in truecased_lines(text):
        out[start : start + len(line)] = line
    cased = "".join(out)
    return text if cased == text else cased


def truecased_lines(text: str) -> list[tuple[int, str]]:
    """The lines ``truecase`` changes, each with its offset in ``text``: NER reads them one by
    one, since a run of lines with no full stop between them reads as one long sentence, where
    the model finds far fewer names."""
    tags = tag_spans(text)
    changed = []
    position = 0
    for line in text.splitlines(keepends=True):
        words = [
            m
            for m in _WORD.finditer(line)
            if not in_tag(tags, position + m.start(), position + m.end())
        ]
        if _caseless(line, words):
            cased = _cased(line, words)
            if cased != line:
                changed.append((position, cased))
        position += len(line)
    return changed


def _cased(line: str, words: list[re.Match]) -> str:
    out = list(line)
    previous = 0
    for m in words:
        gap = line[previous : m.start()].strip(" \t")
        initial = previous == 0 or gap.endswith(_SENTENCE_MARKS)
        word = m.group()
        if initial or len(word) >= 4 and word.isupper() or not common_word(word):
            _write(out, m.start(), word)
        previous = m.end()
    return "".join(out)


def _caseless(line: str, words: list[re.Match]) -> bool:
    """Whether a line was typed without case: it starts with a word, not a replacement tag
    ("<PERSON> asked about repayment." is ordinary English whose capital was redacted) or a
    number (a log line's "2025-03-20 19:34 ERROR sepa mandate rejected"), some
    word outside the tags is in lower case, and none is capitalized the ordinary way. One word
    in capitals of four letters or more may be a shouted name ("DYLAN wants the card"); a line
    with more, or with a short one, is shorthand written with case ("CP r/o ACS in obs, serial
    troponins negative"), where capitalizing the rare words only makes names of drugs and
    findings."""
    first = re.search(r"<[A-Z][A-Z0-9_]*>|[^\W_]", line)
    if first is None or not first.group().isalpha():
        return False
    if not any(m.group().islower() for m in words):
        return False
    if not all(m.group().islower() or m.group().isupper() for m in words):
        return False
    shouted = [m.group() for m in words if not m.group().islower()]
    return not shouted or (len(shouted) == 1 and len(shouted[0]) >= 4)


def _write(chars: list[str], start: int, word: str) -> None:
    """Write ``word`` capitalized, the rest lower case, into ``chars`` where every changed
    letter keeps its length (a letter whose case form is longer is left as it is)."""
    for k, (letter, cased) in enumerate(zip(word, word[0].upper() + word[1:].lower(), strict=True)):
        if len(cased) == 1:
            chars[start + k] = cased
        elif k == 0:
            chars[start] = letter


# --------------------------------------------------------------------------------------------
# The rest of a name beside a <PERSON> tag
# --------------------------------------------------------------------------------------------

# After the tag: a word in any case, perhaps after a middle initial, or a lower-case word after
# an initial's full stop ("<PERSON>. dippel": a capital there starts a sentence). Before it: a
# capitalized word (a given name), or a lower-case word only where it is rare in English and not
# a common word of another language ("this is tóth <PERSON>"; "commenter <PERSON>" and
# "freundlichen <PERSON>" are not names).
_AFTER_PERSON = re.compile(
    r"<PERSON>(?:[ \t]+(?:[A-ZÀ-Þ]\.?[ \t]+)?([^\W\d_][\w'-]*[^\W\d_])"
    r"|\.[ \t]+([^\W\d_A-ZÀ-Þ][\w'-]*[^\W\d_]))"
)
_BEFORE_PERSON = re.compile(r"(?<![\w'-])((?:[A-ZÀ-Þ]|[^\W\d_])[\w'-]*[^\W\d_])[ \t]+<PERSON>")
_CAPITAL = re.compile(r"[A-ZÀ-Þ]")
# Letters glued to the tag: the rest of a word the redactor cut ("<PERSON>t erve").
_GLUED_TO_PERSON = re.compile(r"<PERSON>([^\W\d_][\w'-]*)|(?<![\w'-])([^\W\d_][\w'-]*)<PERSON>")


def tag_neighbours(text: str) -> list[Hit]:
    """Words beside a ``<PERSON>`` tag, on its line, that are not common English: the part of
    the name the redactor left ("called <PERSON> polani", "<PERSON> A Kwiatkowski"); before it
    in lower case, only a word rare in English and not common in another language ("this is
    tóth <PERSON>"); and letters glued to the tag, the rest of a word it cut ("<PERSON>t")."""
    hits = []
    for pattern in (_AFTER_PERSON, _BEFORE_PERSON):
        for m in pattern.finditer(text):
            group = m.lastindex or 1
            word = m.group(group)
            parts = _WORD.findall(word)
            if pattern is _BEFORE_PERSON and not _CAPITAL.match(word):
                left = all(_zipf(w.lower()) < RARE_ZIPF for w in parts) and not _foreign_word(word)
            else:
                left = not any(common_word(w) for w in parts)
            if len(word) >= 3 and left:
                hits.append(Hit(m.start(group), m.end(group), "PERSON", 0.5))
    for m in _GLUED_TO_PERSON.finditer(text):
        group = m.lastindex or 1
        hits.append(Hit(m.start(group), m.end(group), "PERSON", 0.5))
    return hits


# --------------------------------------------------------------------------------------------
# Words whose meaning is a name, by the model's word vectors
# --------------------------------------------------------------------------------------------

# Given names and surnames from many languages: only their mean vector is used, as the point
# in the model's vector space where names lie ("lucas", "adrian", "morgan" lie near it;
# "refund", "parcel", "login" far from it). Not a list to look words up in.
_NAME_PROTOTYPES = (
    "john", "mary", "james", "patricia", "michael", "linda", "david", "susan", "robert",
    "karen", "maria", "jose", "ahmed", "fatima", "wei", "li", "yuki", "hans", "anna", "pierre",
    "sophie", "giovanni", "lucia", "olga", "ivan", "priya", "raj", "kwame", "amara", "smith",
    "garcia", "müller", "kowalski", "nguyen",
)  # fmt: skip
# Cosine similarity to the prototype at or above which a word reads as a name: first names in
# the medium model lie at 0.59 to 0.84, everyday words of support text below 0.26.
NAME_SIMILARITY = 0.5
# Months and weekdays share the names' vectors in the medium model ("june", "monday"): never
# a name by this rule.
_CALENDAR = frozenset((
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday",
))  # fmt: skip


class NameVectors:
    """Which words the model's vectors place among names (``NAME_SIMILARITY``)."""

    def __init__(self, vocab) -> None:
        self.vocab = vocab
        rows = [self._unit(w) for w in _NAME_PROTOTYPES]
        rows = [r for r in rows if r is not None]
        self.centre = None
        if rows:
            centre = np.mean(rows, axis=0)
            self.centre = centre / np.linalg.norm(centre)

    def _unit(self, word: str):
        lexeme = self.vocab[word]
        if not lexeme.has_vector or not lexeme.vector_norm:
            return None
        return lexeme.vector / lexeme.vector_norm

    @functools.lru_cache(maxsize=65536)  # noqa: B019 (one instance per model, kept for the process)
    def name_like(self, word: str) -> bool:
        lower = word.lower()
        if self.centre is None or lower in STOP_WORDS or lower in _CALENDAR or len(lower) < 3:
            return False
        row = self._unit(lower)
        return row is not None and float(row @ self.centre) >= NAME_SIMILARITY


def vector_names(
    text: str, vectors: NameVectors | None, not_people: Iterable[Hit] = ()
) -> list[Hit]:
    """Words on a line typed without case that the model's vectors place among names ("she
    named him joshua", "why is lucas so impulsive?"): truecasing leaves them lower case, as
    they are common English, so NER never sees a name there. A word NER calls a place, an
    organization or a group is left alone (cities share the names' vectors: "london")."""
    if vectors is None:
        return []
    tags = tag_spans(text)
    vetoed = [(h.start, h.end) for h in not_people]
    hits = []
    recased = {start: len(line) for start, line in truecased_lines(text)}
    for start in sorted(_all_lower_case(text, recased)):
        for m in _WORD.finditer(text, start, start + recased[start]):
            begin, end = m.start(), m.end()
            if in_tag(tags, begin, end) or any(s < end and begin < e for s, e in vetoed):
                continue
            if vectors.name_like(m.group()):
                hits.append(Hit(begin, end, "PERSON", 0.5))
    return hits


# --------------------------------------------------------------------------------------------
# A name after a title
# --------------------------------------------------------------------------------------------

# A title, then the name it introduces, in any case ("ms. ryder", "Dr Okafor"); "miss" in lower
# case without a full stop is the verb ("miss the delivery") and is left out.
_TITLED = re.compile(
    r"(?<![\w-])(?:(?i:mr|mrs|ms|mx|dr|prof|sir|madam|frau|herr|mme|mlle|sra?|srta)\.?|Miss\.?"
    r"|miss\.)[ \t]+(?:[A-Za-z]\.?[ \t]+)?(?P<name>[^\W\d_][\w'-]*[^\W\d_])"
)


def titled_names(text: str) -> list[Hit]:
    """The word after a title of address ("i'd like to join accounts with ms. ryder"): a name
    whatever its case or how common the word is, unless it is a stop word or a tag."""
    tags = tag_spans(text)
    return [
        Hit(m.start("name"), m.end("name"), "PERSON", 0.5)
        for m in _TITLED.finditer(text)
        if m.group("name").lower() not in STOP_WORDS
        and not in_tag(tags, m.start("name"), m.end("name"))
        and text[m.end("name") : m.end("name") + 1] != ">"
    ]


# --------------------------------------------------------------------------------------------
# Phone numbers in national formats
# --------------------------------------------------------------------------------------------

# Digit groups with a phone's separators (space, dot, dash, slash, parentheses), an optional
# "+" in front; not glued to a word, an "#" (a ticket or order number), or a time's colon.
_PHONE_RUN = re.compile(r"(?<![\w#@/:.,-])\+?\(?\d[\d ().\-/]{5,24}\d\)?(?![\w:-]|[.,]\d)")
_DATE = re.compile(
    r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?:[ T]\d{1,2}(?:[:.]\d{2}){0,2})?"
    r"|\d{1,2}:\d{2}(?::\d{2})?"
)
_AMOUNT = re.compile(r"\d{1,3}(?:[ .,]\d{3})*[.,]\d{2}")


def phone_runs(text: str) -> list[Hit]:
    """Runs of 7 to 15 digits shaped like a phone number written in a national format: in
    groups ("24-60-49-17", "(0088)-677724", "0612 345 678") or, unbroken, after a "+" or a
    leading 0. Dates, times and amounts are not phone numbers."""
    hits = []
    for m in _PHONE_RUN.finditer(text):
        span = m.group().strip()
        digits = sum(ch.isdigit() for ch in span)
        grouped = re.search(r"\d[ ().\-/]+\d", span) is not None
        if 7 <= digits <= 15 and (grouped or span[0] in "+0(") and not is_date_or_amount(span):
            start = m.start() + m.group().index(span)
            hits.append(Hit(start, start + len(span), "PHONE_NUMBER", 0.5))
    return hits


def is_date_or_amount(span: str) -> bool:
    """Whether a run of digits is a date (with or without a time) or an amount, not a phone:
    Presidio's phone recognizer reads "29.09.2025 14" as one."""
    span = span.strip(" ()")
    return _DATE.fullmatch(span) is not None or _AMOUNT.fullmatch(span) is not None


# --------------------------------------------------------------------------------------------
# Street addresses in any case
# --------------------------------------------------------------------------------------------

# Street-type words (USPS Publication 28 and British ones), longest first in the alternation.
_STREET_TYPES = "|".join(sorted(STREET_TYPES, key=lambda w: (-len(w), w)))
_STREET = re.compile(
    rf"(?<![\w#-])\d{{1,5}}[a-z]?,?[ \t]+(?:[^\W\d_][\w'.-]*[ \t]+){{1,3}}(?:{_STREET_TYPES})\b\.?",
    re.IGNORECASE,
)
# A street name written before its number as one compound word ("Matthiashof 3",
# "Kerkstraat 12", "Storgatan 4"), in the languages that write streets so.
_COMPOUND_FIRST = re.compile(
    r"(?<![\w-])[^\W\d_]+(?:hof|stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|ring|damm|ufer|laan"
    r"|straat|gracht|plein|steeg|singel|kade|dreef|gata|gatan|gade|vej|veien|vegen|katu|tie)"
    r"[ \t]+\d{1,5}[a-z]?(?![\w/-]|[.,]\d)",
    re.IGNORECASE,
)
# United States military addresses (USPS Publication 28, section 225): "PSC 0969, Box 7121",
# "Unit 4031 Box 2217", "USNS Pratt", each with an "APO|FPO|DPO AA|AE|AP 12345" line.
_MILITARY = re.compile(
    r"(?<!\w)(?:(?:PSC|CMR|Unit)[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{1,5}"
    r"|US(?:NS|NV|S|CGC)[ \t]+[A-Z][\w'-]+)(?=[ \t,]*\n?[ \t]*(?:APO|FPO|DPO)[ \t]+A[AEP]\b)"
)
# The rest of an address block after a line the redactor replaced: a line of capitalized words
# ending in a street type ("<STREET_ADDRESS>\nLowe Isle"), or a unit line before one.
_AFTER_ADDRESS = re.compile(
    rf"<STREET_ADDRESS>[ \t,]*\n[ \t]*(?P<line>(?:[A-ZÀ-Þ][\w'.-]*[ \t]+){{1,3}}"
    rf"(?i:{_STREET_TYPES})\b\.?)(?:(?![ \t]*[\w<])|(?=[ \t]+(?:in|at|,)[ \t]))"
)


def street_shapes(text: str) -> list[Hit]:
    """Street addresses by shape, whatever the case: a house number, one to three words (no
    stop word among them: "40 on the way" is not an address) and a street-type word ("12
    harbour road"; the policy's own address pattern wants the street name capitalized); a
    compound street name before its number ("Matthiashof 3"); a US military address ("PSC 0969,
    Box 7121" above an "APO AA" line); and the street line left under
    a line the redactor replaced ("<STREET_ADDRESS>\nLowe Isle")."""
    hits = [
        Hit(m.start(), m.end(), "STREET_ADDRESS", 0.5)
        for m in _STREET.finditer(text)
        if not any(w.lower() in STOP_WORDS for w in _WORD.findall(m.group())[:-1])
    ]
    for pattern in (_COMPOUND_FIRST, _MILITARY):
        hits += [Hit(m.start(), m.end(), "STREET_ADDRESS", 0.5) for m in pattern.finditer(text)]
    hits += [
        Hit(m.start("line"), m.end("line"), "STREET_ADDRESS", 0.5)
        for m in _AFTER_ADDRESS.finditer(text)
    ]
    return hits


# --------------------------------------------------------------------------------------------
# Short phone numbers the line calls a phone
# --------------------------------------------------------------------------------------------

_SHORT_RUN = re.compile(r"(?<![\w#@/:.,-])\d{2,3}([ .-])\d{2,3}\1\d{2,3}(?![\w:-]|[.,]\d)")
_SAYS_PHONE = re.compile(
    r"(?i:\b(?:phone|call|tel|mobile|cell|fax|number|reach|whatsapp|sms|text)\b)[^\n]{0,30}$"
)


def short_phones(text: str) -> list[Hit]:
    """Three groups of two or three digits ("33 64 74", "94-50-72") with a word for a phone
    earlier on the line: national numbers too short for ``phone_runs``; or three pairs of
    digits that cannot be a date ("94 50 72": no month 50), with or without such a word. A
    date is not one."""
    return [
        Hit(m.start(), m.end(), "PHONE_NUMBER", 0.5)
        for m in _SHORT_RUN.finditer(text)
        if not is_date_or_amount(m.group())
        and (
            _SAYS_PHONE.search(text, max(0, m.start() - 40), m.start())
            or _pairs_not_a_date(m.group())
        )
    ]


def _pairs_not_a_date(run: str) -> bool:
    """Three groups of two digits that no day-month-year or month-day-year order can read."""
    groups = re.split(r"[ .-]", run)
    if any(len(g) != 2 for g in groups):
        return False
    a, b, _ = (int(g) for g in groups)
    return not (1 <= a <= 31 and 1 <= b <= 12 or 1 <= a <= 12 and 1 <= b <= 31)


# --------------------------------------------------------------------------------------------
# Speaker labels of a transcript
# --------------------------------------------------------------------------------------------

_LABEL_LINE = re.compile(
    r"^[ \t]*(?P<label><PERSON>|[^\W\d_][\w'.-]*(?:[ ][^\W\d_][\w'.-]*){0,2})[ \t]*:[ \t]+"
    r"(?P<said>[^\n]+)",
    re.MULTILINE,
)


def speaker_labels(text: str, vectors: NameVectors | None = None) -> list[Hit]:
    """Speaker labels that are names: in a text of two lines or more shaped "label: words",
    a label that is not a ``<PERSON>`` tag, whose words are not all everyday English
    (``LABEL_ZIPF``: roles such as "Agent" are) or, beside ``<PERSON>`` labels, all lie among
    names by the model's vectors ("Mark", "Scott"), where another label is a ``<PERSON>`` tag or
    all its words are rare. Only lines that say something (a lower-case word) count, so a
    form's "Name: ..." or "Phone: ..." lines are no transcript."""
    lines = [m for m in _LABEL_LINE.finditer(text) if _says_something(m.group("said"))]
    if len(lines) < 2:
        return []
    tagged = any(m.group("label") == "<PERSON>" for m in lines)
    hits = []
    for m in lines:
        label = m.group("label")
        words = _WORD.findall(label)
        if label == "<PERSON>" or not words:
            continue
        everyday = all(_zipf(w.lower()) >= LABEL_ZIPF for w in words)
        if everyday and not (tagged and vectors and all(vectors.name_like(w) for w in words)):
            continue
        if tagged or all(_zipf(w.lower()) < RARE_ZIPF for w in words):
            hits.append(Hit(m.start("label"), m.end("label"), "PERSON", 0.5))
    return hits


def _says_something(said: str) -> bool:
    words = _WORD.findall(said)
    return len(words) >= 2 and any(w.islower() for w in words)


# --------------------------------------------------------------------------------------------
# Words rare in English
# --------------------------------------------------------------------------------------------

# A word of letters (inner apostrophes and hyphens) not glued to an e-mail, a URL, a path or a
# number.
_LETTERS = re.compile(r"(?<![\w@/.'-])[^\W\d_](?:[^\W\d_]|['-](?=[^\W\d_]))+(?![\w@/'-]|\.\w)")


def rare_words(text: str, not_people: Iterable[Hit] = ()) -> list[Hit]:
    """Words of three letters or more that are rare in English (``RARE_ZIPF``), capitalized
    as a name inside a sentence ("Why is Inunnguaq so ...") or opening one as an address
    ("Qelvintra, can I ..."), or on a line typed without case ("fabia called again"; "MATTHIJS
    called again", one word shouted), and
    not inside a span NER calls a place, an organization or a group (``not_people``): what is
    left of such words in redacted text is mostly names."""
    tags = tag_spans(text)
    vetoed = [(h.start, h.end) for h in not_people]
    # Lines typed all in lower case; and lines in lower case but for one shouted word, where
    # only a shouted word of six letters or more counts: shorter ones are as often clinical
    # shorthand ("COPD exacerbation ...").
    recased = {start: len(line) for start, line in truecased_lines(text)}
    caseless = _all_lower_case(text, recased)
    line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    hits = []
    for m in _LETTERS.finditer(text):
        word = m.group()
        if len(word) < 3 or in_tag(tags, m.start(), m.end()):
            continue
        if any(s < m.end() and m.start() < e for s, e in vetoed):
            continue
        line = _line_start(line_starts, m.start())
        if not _cased_as_name(text, m, line in recased, line in caseless):
            continue
        if text[m.end() : m.end() + 1] == ":" or _in_other_language(text, m, tags):
            continue  # a field's key ("iban: ..."), or a word of another language
        if all(_zipf(part.lower()) < RARE_ZIPF for part in re.split(r"['-]", word) if part):
            hits.append(Hit(m.start(), m.end(), "PERSON", 0.5))
    return hits


def _all_lower_case(text: str, recased: dict[int, int]) -> set[int]:
    """Of the lines ``truecased_lines`` changes (start -> length), those with no capital letter
    outside the replacement tags (no shouted word either)."""
    return {
        start
        for start, length in recased.items()
        if not any(ch.isupper() for ch in TAG.sub("", text[start : start + length]))
    }


def _cased_as_name(text: str, m: re.Match, recased: bool, caseless: bool) -> bool:
    """Whether a word's case lets it be a name where it stands: shouted (six letters or more)
    on a line otherwise in lower case; capitalized as a name and placed as one; or in lower
    case on a line typed without case."""
    word = m.group()
    if word.isupper():
        return len(word) >= 6 and recased
    if word[0].isupper():
        return _name_cased(word) and _placed_as_name(text, m.start(), m.end())
    return caseless


# Languages whose everyday words turn up in support text written in English (a German letter's
# closing, a French job title); a word this common in one of them is not a name.
_OTHER_LANGUAGES = ("de", "fr", "es", "pt", "it", "nl")
FOREIGN_ZIPF = 3.5


@functools.lru_cache(maxsize=65536)
def _foreign_word(word: str) -> bool:
    """Whether ``word`` is a common word of another language ("freundlichen", "professeur")."""
    lower = word.lower()
    return any(zipf_frequency(lower, lang) >= FOREIGN_ZIPF for lang in _OTHER_LANGUAGES)


def _in_other_language(text: str, m: re.Match, tags: list[tuple[int, int]]) -> bool:
    """Whether a word is a word of another language used as one: common there
    (``_foreign_word``), and alone on its line ("Cordialement,") or beside another such word
    ("Mit freundlichen Grüßen") that is rare in English. A given name is common in its own
    language's text too ("amada", "Júlia"): among English words it is a name."""
    if not _foreign_word(m.group()):
        return False
    start = text.rfind("\n", 0, m.start()) + 1
    end = text.find("\n", m.end())
    end = len(text) if end == -1 else end
    others = [
        w.group()
        for w in _LETTERS.finditer(text, start, end)
        if w.start() != m.start() and len(w.group()) >= 2 and not in_tag(tags, w.start(), w.end())
    ]
    return not others or any(_foreign_word(w) and _zipf(w.lower()) < RARE_ZIPF for w in others)


def _name_cased(word: str) -> bool:
    """Capitalized the way a name is: one capital, then lower case ("AFib" is an acronym)."""
    return all(part[1:] == part[1:].lower() for part in re.split(r"['-]", word) if part)


def _placed_as_name(text: str, start: int, end: int) -> bool:
    """A capitalized word inside a sentence, or opening one as an address ("Demelza, can
    I ..."): a rare word that merely opens a sentence is as often a term of the trade
    ("Hyperglycemia to 480", "Noncompliant with meds")."""
    before = text[:start].rstrip(" \t")
    opens = not before or before.endswith(("\n", *_SENTENCE_MARKS)) or before.endswith(">")
    return not opens or text[end : end + 1] == ","


def _line_start(line_starts: list[int], position: int) -> int:
    return line_starts[bisect.bisect_right(line_starts, position) - 1]


# --------------------------------------------------------------------------------------------
# Every occurrence of a flagged name in its cell
# --------------------------------------------------------------------------------------------


def spread(text: str, hits: Iterable[Hit], allow: frozenset[str] = frozenset()) -> list[Hit]:
    """More hits: every other whole-word occurrence, in any case, of a word of a flagged
    PERSON that is not common English ("vincenza" flagged once, left at two more places)."""
    names = {
        w.lower()
        for h in hits
        if h.entity == "PERSON"
        for w in _WORD.findall(text[h.start : h.end])
        if len(w) >= 3 and w.lower() not in allow and not common_word(w, SPREAD_ZIPF)
    }
    if not names:
        return []
    tags = tag_spans(text)
    return [
        Hit(m.start(), m.end(), "PERSON", 0.5)
        for m in _WORD.finditer(text)
        if m.group().lower() in names and not in_tag(tags, m.start(), m.end())
    ]
