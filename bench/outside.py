"""Ours against vanilla Presidio on the outside corpora (``bench.corpora``), same texts, one run.

- vanilla: Presidio's ``AnalyzerEngine`` with its default recognizers only (no custom ones, all
  its entities) on the project's installed spaCy model (``build_analyzer``), run through
  ``BatchAnalyzerEngine``, and ``AnonymizerEngine`` replacing each finding with ``<ENTITY>``;
  the policy's score threshold (0.4) so both sides cut at the same score.
- ours: the pipeline's ``Redactor`` applying ``policies/customers.yaml`` to a frame whose
  ``support_notes`` holds the texts; every other column is empty, so no row value or known
  name helps (the texts come with no structured columns).

Redaction recall comes from each side's output (``score_redaction``), detection precision and
recall from its detected spans: vanilla's analyzer results, our column scanner's hits
(``Redactor.scan_texts``; the redactor adds name extension and a second pass on top). The
verifier is the pipeline's residual gate (``residual_scan``) run on our output: how many of
the rows that still hold a true value it flags, how many clean rows it flags, and how many rows
still leak once it has redacted what it flagged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import pipeline  # noqa: F401  (switches off telemetry and network lookups first)
from bench.corpora import (
    OTHER,
    SCORED_ENTITIES,
    DetectionScore,
    LabelledText,
    RecallScore,
    RedactionScore,
    micro,
    score_detection,
    score_redaction,
    split_corpora,
)
from pipeline.privacy.policy import load_policy
from pipeline.privacy.presidio import build_analyzer
from pipeline.privacy.redactor import Redactor
from pipeline.privacy.spans import outside_tags

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "customers.yaml"
COLUMN = "support_notes"
KEY = b"benchmark-key"
APPROACHES = ("ours", "vanilla")
# Our output as the pipeline publishes it: with what the residual gate flagged redacted too.
PUBLISHED = "published"


class Vanilla:
    """Stock Presidio: default recognizers, all their entities, ``<ENTITY>`` replacement."""

    def __init__(self, threshold: float):
        from presidio_analyzer import BatchAnalyzerEngine
        from presidio_anonymizer import AnonymizerEngine

        self.analyzer = build_analyzer()
        self.batch = BatchAnalyzerEngine(analyzer_engine=self.analyzer)
        self.anonymizer = AnonymizerEngine()
        self.threshold = threshold

    def run(self, texts: list[str]) -> tuple[list[str], list[list[tuple[int, int, str]]]]:
        results = list(
            self.batch.analyze_iterator(
                texts, language="en", score_threshold=self.threshold, batch_size=64
            )
        )
        outputs = [
            self.anonymizer.anonymize(text=t, analyzer_results=r).text
            for t, r in zip(texts, results, strict=True)
        ]
        spans = [[(r.start, r.end, r.entity_type) for r in found] for found in results]
        return outputs, spans


class Ours:
    """The pipeline's Redactor with the customers policy, texts in ``support_notes``."""

    def __init__(self):
        self.policy = load_policy(POLICY)
        self.rule = self.policy.columns[COLUMN]
        self.redactor = Redactor(self.policy, KEY)

    def frame(self, texts: list[str]) -> pd.DataFrame:
        data: dict[str, list] = {name: [None] * len(texts) for name in self.policy.columns}
        data["customer_id"] = list(range(1, len(texts) + 1))
        data["plan"] = ["basic"] * len(texts)
        data["churned"] = [0] * len(texts)
        data[COLUMN] = list(texts)
        return pd.DataFrame(data)

    def redact(self, texts: list[str]) -> pd.DataFrame:
        """The redacted frame; its ``support_notes`` holds the redacted texts."""
        return self.redactor.redact(self.frame(texts))[0]

    def detect(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        hits = self.redactor.scan_texts(texts, self.rule.entities, self.rule.score_threshold)
        return [[(h.start, h.end, h.entity) for h in found] for found in hits]

    def gate(self, texts: list[str], redacted: pd.DataFrame) -> tuple[list[bool], list[str] | None]:
        """Per row: does the residual gate flag it; and the output as the gate publishes it.

        The gate's own entry point (``residual_scan``) is used: where it returns the output with
        what it flagged redacted, the rows it changed are the rows it flagged. A gate that only
        reports counts (an older one) is reproduced row by row: its scan of each text for the
        policy's gate entities, replacement tags ignored; the published output is then unknown.
        """
        from pipeline.privacy.residual import residual_scan

        outputs = [str(v) for v in redacted[COLUMN].tolist()]
        result = residual_scan(self.redactor, self.frame(texts), redacted)
        if isinstance(result, tuple):
            published = [str(v) for v in result[1][COLUMN].tolist()]
            return [a != b for a, b in zip(outputs, published, strict=True)], published
        entities = [e for e in self.policy.gate_entities if e not in self.rule.allow_entities]
        uniques = sorted({t for t in outputs if t.strip()})
        hits = self.redactor.scan_texts(uniques, entities, self.policy.gate_score_threshold)
        flagged = {t for t, found in zip(uniques, hits, strict=True) if outside_tags(t, found)}
        return [t in flagged for t in outputs], None

    def warm_up(self) -> None:
        self.redactor.scan_texts(["Warm up John Smith."], ["PERSON"], 0.4)


@dataclass
class Verifier:
    leaking: int = 0  # rows of our output that still hold a true value
    leaking_flagged: int = 0  # of those, flagged by the residual gate
    clean: int = 0
    clean_flagged: int = 0
    published_leaking: int | None = None  # rows still leaking after the gate's own fixes

    def count(self, leaking: list[bool], flags: list[bool]) -> None:
        for leaks, flagged in zip(leaking, flags, strict=True):
            if leaks:
                self.leaking += 1
                self.leaking_flagged += flagged
            else:
                self.clean += 1
                self.clean_flagged += flagged


@dataclass
class CorpusResult:
    name: str
    texts: int
    seconds: dict[str, float] = field(default_factory=dict)
    redaction: dict[str, RedactionScore] = field(default_factory=dict)
    detection: dict[str, dict[str, DetectionScore]] = field(default_factory=dict)
    verifier: Verifier = field(default_factory=Verifier)


class Engines:
    """Both redactors, built and warmed up once (spaCy loads outside every clock)."""

    def __init__(self):
        self.ours = Ours()
        self.vanilla = Vanilla(self.ours.rule.score_threshold)
        self.ours.warm_up()
        self.vanilla.analyzer.analyze("Warm up John Smith.", language="en")


def evaluate(name: str, corpus: list[LabelledText], engines: Engines) -> CorpusResult:
    texts = [item.text for item in corpus]
    result = CorpusResult(name, len(texts))
    start = time.perf_counter()
    vanilla_out, vanilla_spans = engines.vanilla.run(texts)
    result.seconds["vanilla"] = time.perf_counter() - start
    start = time.perf_counter()
    redacted = engines.ours.redact(texts)
    result.seconds["ours"] = time.perf_counter() - start
    ours_out = [str(v) for v in redacted[COLUMN].tolist()]
    ours_spans = engines.ours.detect(texts)
    for label, outputs, spans in (
        ("ours", ours_out, ours_spans),
        ("vanilla", vanilla_out, vanilla_spans),
    ):
        result.redaction[label] = score_redaction(corpus, outputs)
        result.detection[label] = score_detection(corpus, spans)
    flags, published = engines.ours.gate(texts, redacted)
    result.verifier.count(result.redaction["ours"].leaking_rows, flags)
    if published is not None:
        result.redaction[PUBLISHED] = score_redaction(corpus, published)
        result.verifier.published_leaking = sum(result.redaction[PUBLISHED].leaking_rows)
    return result


def combine(results: list[CorpusResult], name: str = "both corpora") -> CorpusResult:
    """The counts of several corpora added up, as if they were one."""
    total = CorpusResult(name, sum(r.texts for r in results))
    for label in APPROACHES:
        total.seconds[label] = sum(r.seconds[label] for r in results)
        total.redaction[label] = _added_redaction(results, label)
        detection = {e: DetectionScore() for e in (*SCORED_ENTITIES, OTHER)}
        for r in results:
            for e, score in r.detection[label].items():
                for attr in ("support", "found", "detected", "correct"):
                    setattr(detection[e], attr, getattr(detection[e], attr) + getattr(score, attr))
        total.detection[label] = detection
    if all(PUBLISHED in r.redaction for r in results):
        total.redaction[PUBLISHED] = _added_redaction(results, PUBLISHED)
    for attr in ("leaking", "leaking_flagged", "clean", "clean_flagged", "published_leaking"):
        values = [getattr(r.verifier, attr) for r in results]
        setattr(total.verifier, attr, None if None in values else sum(values))
    return total


def _added_redaction(results: list[CorpusResult], label: str) -> RedactionScore:
    redaction = RedactionScore({e: RecallScore() for e in SCORED_ENTITIES})
    for r in results:
        redaction.leaking_rows += r.redaction[label].leaking_rows
        for e, score in r.redaction[label].per_entity.items():
            redaction.per_entity[e].support += score.support
            redaction.per_entity[e].leaked += score.leaked
    return redaction


def run_outside(split: str, n: int, engines: Engines | None = None) -> list[CorpusResult]:
    """Both outside corpora of ``split`` (``n`` texts each), scored for ours and vanilla."""
    engines = engines or Engines()
    return [evaluate(name, corpus, engines) for name, corpus in split_corpora(split, n).items()]


def outside_recall(split: str = "heldout", n: int = 300) -> dict[str, dict[str, dict[str, float]]]:
    """Redaction recall per corpus, approach and scored type (plus "all"), for tests."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for result in run_outside(split, n):
        out[result.name] = {}
        for label, score in result.redaction.items():
            row = {e: score.per_entity[e].recall for e in SCORED_ENTITIES}
            row["all"] = score.overall().recall
            out[result.name][label] = row
    return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.3f}" if denominator else "-"


def _row(label: str, support: int | str, values: list[str]) -> str:
    return f"  {label:<16} {support:>7} " + " ".join(f"{v:>7}" for v in values)


def _cell(result: CorpusResult, kind: str, label: str, entity: str) -> str:
    if kind == "redaction":
        recall = result.redaction[label].per_entity.get(entity)
        return _ratio(recall.support - recall.leaked, recall.support) if recall else "-"
    row = result.detection[label][entity]
    if kind == "detection":
        return _ratio(row.found, row.support)
    return _ratio(row.correct, row.detected)


def _table(result: CorpusResult) -> list[str]:
    titles = " ".join(f"{t:-^15}" for t in (" redacted ", " detected ", " precision "))
    lines = [f"{'':<27}{titles}", _row("entity", "support", ["ours", "vanilla"] * 3)]
    for entity in (*SCORED_ENTITIES, OTHER):
        support = result.detection["ours"][entity].support if entity != OTHER else "-"
        values = [
            _cell(result, kind, label, entity)
            for kind in ("redaction", "detection", "precision")
            for label in APPROACHES
        ]
        lines.append(_row(entity, support, values))
    lines.append(_overall_row(result))
    return lines


def _overall_row(result: CorpusResult) -> str:
    values = []
    for label in APPROACHES:
        overall = result.redaction[label].overall()
        values.append(_ratio(overall.support - overall.leaked, overall.support))
    for label in APPROACHES:
        total = micro(result.detection[label], with_other=False)
        values.append(_ratio(total.found, total.support))
    for label in APPROACHES:
        total = micro(result.detection[label])
        values.append(_ratio(total.correct, total.detected))
    support = result.redaction["ours"].overall().support
    return _row("all (micro)", support, values)


def _summary(result: CorpusResult) -> list[str]:
    ours, vanilla = result.seconds["ours"], result.seconds["vanilla"]
    v = result.verifier
    leaking = {label: sum(result.redaction[label].leaking_rows) for label in APPROACHES}
    return [
        f"  seconds: ours {ours:.1f} ({result.texts / ours:.0f} texts/s), vanilla batch "
        f"{vanilla:.1f} ({result.texts / vanilla:.0f} texts/s): ours {vanilla / ours:.1f}x",
        f"  rows still holding a true value: ours {leaking['ours']}, "
        f"vanilla {leaking['vanilla']} of {result.texts}",
        f"  residual gate (verifier) on our output flags {v.leaking_flagged} of "
        f"{v.leaking} leaking rows ({_ratio(v.leaking_flagged, v.leaking)}) and "
        f"{v.clean_flagged} of {v.clean} clean rows",
        "  rows still holding a true value once the gate redacted what it flagged: "
        + (
            "unknown (this gate only counts)"
            if v.published_leaking is None
            else f"{v.published_leaking}"
        ),
        *_published_line(result),
    ]


def _published_line(result: CorpusResult) -> list[str]:
    """Redaction recall of what the pipeline publishes: our output with the gate's fixes."""
    score = result.redaction.get(PUBLISHED)
    if score is None:
        return []
    recalls = [
        f"{e} {_ratio(r.support - r.leaked, r.support)}"
        for e, r in score.per_entity.items()
        if r.support and r.leaked
    ]
    overall = score.overall()
    return [
        "  redacted as published (ours + the gate's fixes): all "
        f"{_ratio(overall.support - overall.leaked, overall.support)}"
        + (f"; below 1.000: {', '.join(recalls)}" if recalls else "")
    ]


def format_outside(results: list[CorpusResult], split: str) -> str:
    """Per corpus and for both together: the per-type table, timings and the verifier."""
    lines = [
        "redacted: true values gone from the output; detected: true spans a detection overlaps;",
        "precision: detections that overlap a labelled identifying span (bench/corpora.py)",
    ]
    for result in [*results, combine(results)] if len(results) > 1 else results:
        lines.append(f"\n{result.name}, {split} split, {result.texts} texts")
        lines += _table(result)
        lines += _summary(result)
    return "\n".join(lines)
