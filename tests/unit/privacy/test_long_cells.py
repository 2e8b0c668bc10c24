"""A cell longer than spaCy's ``max_length`` is read in overlapping pieces, never a crash (E088).

The cells here are lower-case log words with no sentence end, so the scanner sees each as one
sentence of over a million characters, and only the pieces holding a capital letter cost NER:
the tests stay quick with the real model.
"""

import pandas as pd
import pytest

from pipeline.privacy.ner import PIECE_CHARS, PIECE_OVERLAP, load_ner, named_entities, pieces
from pipeline.privacy.policy import load_policy
from pipeline.privacy.redactor import Redactor
from pipeline.privacy.scanner import ColumnScanner
from pipeline.settings import DEFAULT_SPACY_MODEL
from tests.helpers import REPO

WORDS = "the worker polled the queue and found nothing new so it went back to sleep "
SMALL_PIECE = 10_000
NAME, EMAIL = "Maria Gonzalez", "maria.gonzalez@example.com"
LAST_NAME, LAST_EMAIL = "Peter Novak", "peter.novak@example.org"


def filler(length: int) -> str:
    """``length`` characters of lower-case words: no capital, no sentence end, no line break."""
    return (WORDS * (length // len(WORDS) + 1))[:length]


def on_the_first_cut(size: int) -> str:
    """Text whose first piece of ``size`` ends between the two words of ``NAME``."""
    lead = " handed over to "
    return filler(size - 8 - len(lead)) + lead + NAME


def long_cell(size: int) -> str:
    """Over a million characters: a name and an e-mail on the first cut, another pair at the
    very end."""
    return (
        f"{on_the_first_cut(size)} at {EMAIL} {filler(1_000_000)} escalated to {LAST_NAME} "
        f"{LAST_EMAIL}"
    )


@pytest.mark.parametrize("line_breaks", [False, True])
def test_pieces_overlap_cut_at_breaks_and_own_each_position_once(line_breaks):
    # given a long text, as one line or as lines of about 80 characters
    text = filler(300_000)
    if line_breaks:
        text = "\n".join(text[i : i + 80] for i in range(0, len(text), 80))
    # when it is cut into pieces of at most 20,000 characters
    found = pieces(text, 20_000)
    # then every piece fits, ends on a break (a line break when there is one), and overlaps
    # the next by enough that what one owns has context on both sides
    assert len(found) > 1 and all(p.end - p.start <= 20_000 for p in found), found
    assert all(text[p.end - 1] == ("\n" if line_breaks else " ") for p in found[:-1]), found
    assert [found[0].owns_from, found[-1].owns_to] == [0, len(text)], found
    for piece, following in zip(found, found[1:], strict=False):
        assert piece.owns_to == following.owns_from, "owned ranges must tile the text"
        assert piece.end - piece.owns_to >= PIECE_OVERLAP // 2, (piece, following)
        assert following.owns_from - following.start >= PIECE_OVERLAP // 2, (piece, following)


def test_an_entity_on_a_cut_is_found_whole_and_once():
    # given a name that the first piece's end cuts in two ("... Maria | Gonzalez")
    text = on_the_first_cut(SMALL_PIECE) + " who logged in " + filler(200_000)
    start = text.index(NAME)
    first = pieces(text, SMALL_PIECE)[0]
    assert start < first.end < start + len(NAME), "the test must put the name on the cut"
    # when NER reads the text in pieces
    entities = named_entities(DEFAULT_SPACY_MODEL, [text], SMALL_PIECE)[0]
    # then the name is one entity, whole, at its offsets in the whole text
    assert entities == [(start, start + len(NAME), "PERSON")], [
        (text[s:e], label) for s, e, label in entities
    ]


def test_a_cell_over_a_million_characters_is_scanned_in_pieces():
    # given one cell longer than spaCy's max_length, with a name and an e-mail on a piece's
    # cut and another pair at its very end
    cell = long_cell(SMALL_PIECE)
    assert len(cell) > load_ner(DEFAULT_SPACY_MODEL).max_length
    scanner = ColumnScanner(
        ["PERSON", "EMAIL_ADDRESS"], spacy_model=DEFAULT_SPACY_MODEL, ner_piece_chars=SMALL_PIECE
    )
    # when it is scanned, then there is no crash, and all four are found whole
    found = {(cell[h.start : h.end], h.entity) for h in scanner.scan([cell])[0]}
    assert {
        (NAME, "PERSON"),
        (EMAIL, "EMAIL_ADDRESS"),
        (LAST_NAME, "PERSON"),
        (LAST_EMAIL, "EMAIL_ADDRESS"),
    } <= found, found


def test_the_redactor_redacts_a_cell_longer_than_max_length_with_its_default_pieces():
    # given a customers row whose notes are over a million characters, the policy as shipped
    policy = load_policy(REPO / "policies/customers.yaml")
    cell = long_cell(PIECE_CHARS)
    row = {column: None for column in policy.columns}
    row |= {"customer_id": 1, "full_name": "Ana Silva", "support_notes": cell}
    # when it is redacted with the default piece size (the path `govern redact` takes)
    redacted, report = Redactor(policy, b"test-key").redact(pd.DataFrame([row]))
    # then nothing crashes, and neither name nor e-mail is left in the notes
    notes = redacted["support_notes"].iloc[0]
    for value in (NAME, EMAIL, LAST_NAME, LAST_EMAIL, "Gonzalez", "Novak"):
        assert value not in notes, f"{value} survived redaction"
    assert notes.endswith("escalated to <PERSON> <EMAIL_ADDRESS>"), notes[-80:]
    assert report.columns["support_notes"].entities_found["EMAIL_ADDRESS"] == 2, report
