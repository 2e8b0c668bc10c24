"""The outside corpora (bench/corpora.py): offline, deterministic, split apart, scored right.

Only the tune split's texts are looked at here; the held-out split is checked through its
specification (seed, template half), never through its texts.
"""

import hashlib
import os
import socket
import subprocess
import sys
from collections import Counter

import pytest

from bench.corpora import (
    IDENTIFYING_ENTITIES,
    OTHER,
    SCORED_ENTITIES,
    SPLITS,
    LabelledSpan,
    LabelledText,
    _presidio_templates,
    _template_entities,
    message_corpus,
    presidio_evaluator_corpus,
    score_detection,
    score_redaction,
    split_corpora,
)
from tests.helpers import REPO

TUNE = SPLITS["tune"]


@pytest.fixture(scope="module")
def tune() -> dict[str, list[LabelledText]]:
    return split_corpora("tune", 120)


def labelled(text: str, *values: tuple[str, str]) -> LabelledText:
    """A text with each (value, entity) labelled at its first occurrence."""
    spans = sorted(
        (LabelledSpan(text.index(v), text.index(v) + len(v), entity, v) for v, entity in values),
        key=lambda s: s.start,
    )
    return LabelledText(text, tuple(spans), "test")


def test_generation_never_opens_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the corpora must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert len(presidio_evaluator_corpus(16, TUNE.seed, TUNE.template_parity)) == 16
    assert len(message_corpus(16, TUNE.seed)) == 16


def test_same_seed_same_texts() -> None:
    first = presidio_evaluator_corpus(24, TUNE.seed, TUNE.template_parity)
    assert first == presidio_evaluator_corpus(24, TUNE.seed, TUNE.template_parity)
    assert message_corpus(24, TUNE.seed) == message_corpus(24, TUNE.seed)
    assert message_corpus(24, TUNE.seed) != message_corpus(24, TUNE.seed + 1)


def test_same_texts_in_another_process_whatever_the_hash_seed() -> None:
    """Faker keeps some lists in sets; a corpus must not follow PYTHONHASHSEED."""
    code = (
        "import hashlib, sys; from bench.corpora import split_corpora; "
        "sys.stdout.write(hashlib.sha256(repr(split_corpora('tune', 30)).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(repr(split_corpora("tune", 30)).encode()).hexdigest()}


def test_splits_use_disjoint_seeds_and_template_halves() -> None:
    tune, heldout = SPLITS["tune"], SPLITS["heldout"]
    assert tune.seed != heldout.seed
    assert {tune.template_parity, heldout.template_parity} == {0, 1}
    for parity in (0, 1):
        templates = [t for i, t in enumerate(_presidio_templates()) if t and i % 2 == parity]
        held = Counter(e for t in templates for e in _template_entities(t))
        assert all(held[e] >= 1 for e in SCORED_ENTITIES), held


def test_every_scored_type_is_present_in_both_corpora(
    tune: dict[str, list[LabelledText]],
) -> None:
    for name, corpus in tune.items():
        counts = Counter(s.entity for item in corpus for s in item.spans)
        assert all(counts[e] >= 3 for e in SCORED_ENTITIES), (name, counts)


def test_messages_cover_the_shapes_and_hard_cases(tune: dict[str, list[LabelledText]]) -> None:
    corpus = tune["messages"]
    assert {item.shape for item in corpus} == {"chat", "signature", "form", "note", "log"}
    spans = [s for item in corpus for s in item.spans]
    cards = {"".join(c for c in s.value if c.isdigit()) for s in spans if s.entity == "CREDIT_CARD"}
    assert any(len(c) == 19 for c in cards) and any(c.startswith("2") for c in cards)
    assert any(s.value.endswith((".local", ".internal", ".example", ".lan")) for s in spans)
    assert any(s.entity == "PERSON" and s.value == s.value.lower() for s in spans)
    assert any("\n" in item.text for item in corpus)


def test_a_surviving_surname_leaks_a_redacted_name_does_not() -> None:
    item = labelled("Call Anna Berg at 0301234567 today.", ("Anna Berg", "PERSON"))
    item = labelled(item.text, ("Anna Berg", "PERSON"), ("0301234567", "PHONE_NUMBER"))
    redacted = score_redaction([item], ["Call <PERSON> at <PHONE_NUMBER> today."])
    assert redacted.overall().leaked == 0 and redacted.leaking_rows == [False]
    half = score_redaction([item], ["Call <PERSON> Berg at <PHONE_NUMBER> today."])
    assert half.per_entity["PERSON"].leaked == 1 and half.leaking_rows == [True]
    phone = score_redaction([item], ["call <PERSON> at 0301234567 TODAY."])
    assert phone.per_entity["PHONE_NUMBER"].leaked == 1


def test_a_name_word_already_in_the_text_elsewhere_is_not_a_leak() -> None:
    item = labelled("Ask Mr. Rose about the rose garden.", ("Rose", "PERSON"))
    score = score_redaction([item], ["Ask Mr. <PERSON> about the rose garden."])
    assert score.per_entity["PERSON"].leaked == 0


def test_a_multi_line_address_leaks_when_a_line_survives() -> None:
    item = labelled(
        "Ship to Flat 7\nJones Light, thanks", ("Flat 7\nJones Light", "STREET_ADDRESS")
    )
    assert score_redaction([item], ["Ship to Flat 7\n<LOCATION>, thanks"]).overall().leaked == 0
    assert score_redaction([item], ["Ship to <X>\njones   light, thanks"]).overall().leaked == 1


def test_detection_overlap_recall_and_precision() -> None:
    item = labelled(
        "Anna Berg, Oslo, card 4111 1111 1111 1111",
        ("Anna Berg", "PERSON"),
        ("Oslo", "LOCATION"),
        ("4111 1111 1111 1111", "CREDIT_CARD"),
    )
    scores = score_detection([item], [[(0, 4, "PERSON"), (11, 15, "LOCATION"), (17, 21, "DATE")]])
    assert scores["PERSON"].recall == 1.0 and scores["PERSON"].precision == 1.0
    assert scores["CREDIT_CARD"].recall == 0.0
    assert scores[OTHER].detected == 2 and scores[OTHER].correct == 0
    assert "LOCATION" not in IDENTIFYING_ENTITIES


def test_labels_must_hold_their_values() -> None:
    with pytest.raises(ValueError):
        LabelledText("abc", (LabelledSpan(0, 2, "PERSON", "xy"),), "test")


def test_the_benchmark_runs_both_redactors_on_a_few_tune_texts() -> None:
    """The wiring of bench/outside.py against the pipeline's current Redactor and gate."""
    from bench.outside import format_outside, run_outside

    results = run_outside("tune", 6)
    assert [r.name for r in results] == ["presidio-evaluator", "messages"]
    for result in results:
        assert set(result.redaction) == {"ours", "vanilla", "published"}
        assert result.verifier.leaking + result.verifier.clean == 6
        # what is published leaks no more rows than our output before the gate's fixes
        published = sum(result.redaction["published"].leaking_rows)
        assert published == result.verifier.published_leaking <= result.verifier.leaking
    report = format_outside(results, "tune")
    assert "all (micro)" in report and "redacted as published" in report
