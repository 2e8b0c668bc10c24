"""spaCy named-entity recognition over many sentences, on both cores when it pays.

Only the components NER needs are loaded, and results come back as plain tuples: both matter
more for speed than the model itself.

A text longer than a piece (a log or a whole document pasted into one cell) is read in
overlapping pieces: spaCy refuses a text past ``nlp.max_length`` (error E088), and raising that
limit trades the error for memory. For the same reason texts are batched by characters as well
as by count: spaCy's memory grows with the characters of a whole batch.
"""

import functools
import itertools
from collections.abc import Iterator
from typing import NamedTuple

from pipeline.privacy.parallel import split_in_two

# Components NER does not need: excluding them leaves a third of the full pipeline's time.
_NER_EXCLUDE = ["parser", "lemmatizer", "attribute_ruler", "tagger", "senter", "morphologizer"]
# Below this many sentences, or this many characters, a second process costs more than it saves.
_PARALLEL_FROM = 2000
_PARALLEL_FROM_CHARS = 200_000
# The longest text NER reads in one go, well under spaCy's max_length. NER costs about the
# same per character in pieces of 10,000 or of 100,000; smaller pieces let more of a long,
# mostly lower-case cell be skipped (see ``named_entities``).
PIECE_CHARS = 20_000
# spaCy holds a whole batch in memory at once: 1.5 MB of text in one batch of 256 pieces took
# 4 GB. A batch stops at 256 texts or at this many characters (one batch of short sentences
# stays as it was; two pieces of 20,000 characters take about 300 MB).
_BATCH_CHARS = 50_000
_BATCH_TEXTS = 256
# Neighbouring pieces share at least this many characters. Each piece answers only for the
# entities that start in its half of each overlap, so an entity on a cut is read whole, with
# 200 characters or more of context on either side, by exactly one piece.
PIECE_OVERLAP = 400
# Where a piece may end, best first: after a line break, a sentence's end, any whitespace.
_BREAKS = ("\n", ". ", "! ", "? ", "; ", " ", "\t")

Entities = list[tuple[int, int, str]]


class Piece(NamedTuple):
    """``text[start:end]`` is read; of its entities, those starting in ``[owns_from, owns_to)``
    are kept."""

    start: int
    end: int
    owns_from: int
    owns_to: int


@functools.lru_cache(maxsize=4)
def load_ner(model: str):
    """spaCy with only the components NER needs (an installed package, never a download)."""
    return ner_pipeline(model)


def ner_pipeline(model: str):
    """A new spaCy pipeline of ``model`` with only what its NER reads.

    The ``en_core_web`` pipelines' NER has a tok2vec layer of its own; their shared ``tok2vec``
    feeds only the tagger (and parser), so once those are excluded it runs for nothing and is
    removed too (kept where the NER listens to it): the medium model read 3,000 outside texts
    in 4.6 s instead of 9.3 s with it, with the same entities in every text.
    """
    import spacy

    nlp = spacy.load(model, exclude=_NER_EXCLUDE)
    if "tok2vec" in nlp.pipe_names and "ner" not in getattr(
        nlp.get_pipe("tok2vec"), "listening_components", ["ner"]
    ):
        nlp.remove_pipe("tok2vec")
    return nlp


def _cut(text: str, low: int, high: int) -> int:
    """The position just after the best break in ``text[low:high]``; ``high`` if none."""
    for mark in _BREAKS:
        found = text.rfind(mark, low, high)
        if found != -1:
            return found + len(mark)
    return high


def pieces(text: str, size: int = PIECE_CHARS) -> list[Piece]:
    """``text`` as overlapping pieces of at most ``size`` characters, cut at a line break, a
    sentence's end or whitespace where the last half of a piece has one (``str.rfind``: no
    Python loop over the characters). The owned ranges tile the text, each position once."""
    if size <= 4 * PIECE_OVERLAP:
        raise ValueError(f"a piece must be longer than {4 * PIECE_OVERLAP} characters")
    cuts: list[tuple[int, int]] = []  # (start, end) of each piece
    start = 0
    while len(text) - start > size:
        end = _cut(text, start + size // 2, start + size)
        cuts.append((start, end))
        start = _cut(text, end - 2 * PIECE_OVERLAP, end - PIECE_OVERLAP)
    cuts.append((start, len(text)))
    # Each overlap is split at its middle: the piece before owns the first half.
    middles = [(end + following) // 2 for (_, end), (following, _) in itertools.pairwise(cuts)]
    bounds = [0, *middles, len(text)]
    return [Piece(start, end, bounds[i], bounds[i + 1]) for i, (start, end) in enumerate(cuts)]


def _batches(sentences: list[str]) -> Iterator[list[str]]:
    """Runs of at most ``_BATCH_TEXTS`` texts holding at most ``_BATCH_CHARS`` characters
    (a longer text is a batch of its own)."""
    batch: list[str] = []
    chars = 0
    for sentence in sentences:
        if batch and (len(batch) == _BATCH_TEXTS or chars + len(sentence) > _BATCH_CHARS):
            yield batch
            batch, chars = [], 0
        batch.append(sentence)
        chars += len(sentence)
    if batch:
        yield batch


def _entities_of(model: str, sentences: list[str]) -> list[Entities]:
    """(start, end, label) of every entity: plain tuples, cheap to send between processes."""
    nlp = load_ner(model)
    return [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for batch in _batches(sentences)
        for doc in nlp.pipe(batch, batch_size=len(batch))
    ]


def _run(model: str, sentences: list[str]) -> list[Entities]:
    """NER over ``sentences``, split over both cores when there are many, or much text.

    spaCy's own ``n_process`` ships whole Docs back and the parent spends longer decoding them
    than the children spent on NER; a forked child that returns tuples halves the time. The
    model is loaded before the fork, so the child shares it instead of loading it again. The
    halves hold about as many characters each: NER's cost is per character.
    """
    load_ner(model)
    parts = split_in_two(
        lambda start, end: _entities_of(model, sentences[start:end]),
        [len(s) for s in sentences],
        min_items=_PARALLEL_FROM,
        min_weight=_PARALLEL_FROM_CHARS,
    )
    return [entities for part in parts for entities in part]


def named_entities(
    model: str, sentences: list[str], piece_chars: int = PIECE_CHARS
) -> list[Entities]:
    """spaCy NER over ``sentences``; one longer than ``piece_chars`` (or than the model's
    ``max_length``) is read in overlapping pieces (see ``pieces``), its entities mapped back
    to offsets in the whole sentence.

    A piece without a capital letter is not read: the scanner sends NER only the sentences
    that have one (NER finds names by their capitals), and a piece of a long sentence is held
    to the same rule. A long paste of lower-case log lines then costs no NER at all.
    """
    size = min(piece_chars, load_ner(model).max_length)
    if all(len(s) <= size for s in sentences):
        return _run(model, sentences)
    texts: list[str] = []
    owners: list[tuple[int, Piece]] = []  # which sentence each text is a piece of, and where
    for index, sentence in enumerate(sentences):
        whole = Piece(0, len(sentence), 0, len(sentence))
        for piece in pieces(sentence, size) if len(sentence) > size else [whole]:
            text = sentence[piece.start : piece.end]
            if piece is whole or text.lower() != text:
                texts.append(text)
                owners.append((index, piece))
    found: list[Entities] = [[] for _ in sentences]
    for (index, piece), entities in zip(owners, _run(model, texts), strict=True):
        found[index] += [
            (piece.start + start, piece.start + end, label)
            for start, end, label in entities
            if piece.owns_from <= piece.start + start < piece.owns_to
        ]
    return found
