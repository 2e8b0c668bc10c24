"""The residual-PII gate: verify redacted output before anything downstream may read it.

Two checks, neither of them the redactor's own detectors:
- the verifier (``pipeline.privacy.verifier``, vanilla Presidio on whole cells) re-reads the
  text cells of every column for the policy's gate entities; what it flags is redacted before
  publishing, and the gate blocks when the upper confidence bound of the flagged share exceeds
  the policy's ``residual.max_residual_rate``;
- every raw value of a PII column is looked for verbatim in the output; any survivor blocks.

The report holds counts, rates and names, never a value.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipeline.privacy.entities import NER_ENTITIES
from pipeline.privacy.parallel import split_in_two
from pipeline.privacy.policy import ColumnRule, KeepRule, PiiPolicy, ScanRule
from pipeline.privacy.presidio import build_lean_analyzer, build_pattern_analyzer
from pipeline.privacy.redactor import Redactor
from pipeline.privacy.spans import Hit, replace_hits
from pipeline.privacy.transforms import as_texts
from pipeline.privacy.verifier import (
    ResidualVerifier,
    choose_sample,
    sample_size,
    upper_bound,
)
from pipeline.settings import verifier_model as settings_verifier_model

# Below this many cells and characters, the verifier runs in one process.
_PARALLEL_CELLS = 1000
_PARALLEL_CHARS = 100_000


@dataclass
class ColumnResidual:
    """One column's verification: distinct cells, how many were read, how many flagged.

    A ``kept`` column (codes and categories, kept as they are) should hold no identifier at
    all: a flagged cell there is a broken row (a shifted field), quarantined with its row, and
    not part of the residual rate, which measures what redaction of free text left behind.
    """

    cells: int
    scanned: int
    flagged: int
    entities: dict[str, int] = field(default_factory=dict)
    kept: bool = False


@dataclass
class ResidualReport:
    """What verification of redacted output found: counts, rates and verdicts, no values."""

    verifier: str
    budget: float
    confidence: float
    columns: dict[str, ColumnResidual] = field(default_factory=dict)
    surviving_raw_values: dict[str, int] = field(default_factory=dict)
    # Row label -> why the row may not be published (a raw value survived, an identifier in a
    # kept column): the stage quarantines these rows. Reasons name columns, never values.
    quarantine_rows: dict = field(default_factory=dict)
    rows_in: int = 0
    # The share of rows that may be quarantined; 0 blocks on any.
    row_budget: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.verifier != "off"

    @property
    def findings(self) -> dict[str, dict[str, int]]:
        """Flagged spans per column and entity."""
        return {name: c.entities for name, c in self.columns.items() if c.entities}

    @property
    def text_columns(self) -> list[ColumnResidual]:
        return [c for c in self.columns.values() if not c.kept]

    @property
    def cells_scanned(self) -> int:
        return sum(c.scanned for c in self.text_columns)

    @property
    def cells_flagged(self) -> int:
        return sum(c.flagged for c in self.text_columns)

    @property
    def residual_rate(self) -> float:
        return self.cells_flagged / self.cells_scanned if self.cells_scanned else 0.0

    @property
    def upper_bound(self) -> float:
        population = sum(c.cells for c in self.text_columns)
        return upper_bound(self.cells_flagged, self.cells_scanned, population, self.confidence)

    @property
    def within_budget(self) -> bool:
        return not self.enabled or self.upper_bound <= self.budget

    @property
    def quarantine_fraction(self) -> float:
        return len(self.quarantine_rows) / self.rows_in if self.rows_in else 0.0

    @property
    def rows_within_budget(self) -> bool:
        if self.row_budget:
            return self.quarantine_fraction <= self.row_budget
        return not self.quarantine_rows

    @property
    def passed(self) -> bool:
        return self.within_budget and self.rows_within_budget

    def describe(self) -> str:
        parts = [self._rate_text()]
        parts += [
            f"{entity} x{n} in {column}"
            for column, ents in self.findings.items()
            for entity, n in ents.items()
        ]
        parts += [
            f"{n} raw value(s) of a PII column in {column}"
            for column, n in self.surviving_raw_values.items()
        ]
        if self.quarantine_rows and self.row_budget:
            verdict = "within" if self.rows_within_budget else "over"
            parts.append(
                f"{len(self.quarantine_rows)} of {self.rows_in} rows "
                f"({self.quarantine_fraction:.2%}) quarantined, {verdict} the budget "
                f"{self.row_budget:.2%}"
            )
        return "; ".join(parts)

    def _rate_text(self) -> str:
        if not self.enabled:
            return "verifier off by policy: residual rate not measured"
        verdict = "within" if self.within_budget else "exceeds"
        flagged = (
            "redacted before publishing"
            if self.within_budget and self.cells_flagged
            else "none published"
        )
        return (
            f"verifier flagged {self.cells_flagged} of {self.cells_scanned} text cells read "
            f"({flagged}); residual rate {self.residual_rate:.4f}, "
            f"{self.confidence:.0%} upper bound {self.upper_bound:.4f} {verdict} the budget "
            f"{self.budget}"
        )

    def as_metadata(self) -> dict[str, Any]:
        """The facts for Dagster metadata and the BOM."""
        return {
            "verifier": self.verifier,
            "max_residual_rate": self.budget,
            "confidence": self.confidence,
            "cells_scanned": self.cells_scanned,
            "cells_flagged": self.cells_flagged,
            "residual_rate": round(self.residual_rate, 6),
            "residual_rate_upper_bound": round(self.upper_bound, 6) if self.enabled else None,
            "columns": {
                name: {"cells": c.cells, "scanned": c.scanned, "flagged": c.flagged}
                for name, c in self.columns.items()
            },
            "findings": self.findings,
            "surviving_raw_values": self.surviving_raw_values,
            "rows_quarantined": len(self.quarantine_rows),
            "row_budget": self.row_budget,
        }


def residual_scan(
    redactor: Redactor,
    raw: pd.DataFrame,
    redacted: pd.DataFrame,
    verifier_model: str | None = None,
    row_budget: float = 0.0,
) -> tuple[ResidualReport, pd.DataFrame]:
    """Verify redacted output: the report, and the output with every flagged span redacted.

    Which columns are read for which entities: see ``_entities_to_verify``; a column's
    ``allow_entities`` (a city is a LOCATION) are accepted. Every column is then checked for
    surviving raw values. The verifier reads with its own spaCy model (``verifier_model``,
    default ``settings.verifier_model()``), not the redactor's.

    Rows still holding a raw value, and rows with an identifier in a kept column, are named in
    ``report.quarantine_rows``: with a ``row_budget``, the stage quarantines them and the gate
    blocks only past that share of rows; without one, any such row blocks.
    """
    policy = redactor.policy
    settings = policy.residual
    cleaned = redacted
    if settings.verifier == "off":
        report = ResidualReport("off", settings.max_residual_rate, settings.confidence)
    else:
        verifier = ResidualVerifier(
            verifier_model or settings_verifier_model(),
            policy.language,
            policy.gate_score_threshold,
            tuple(redactor.recognizers),
            frozenset(w.lower() for w in policy.allow_list),
        )
        report = ResidualReport(verifier.name, settings.max_residual_rate, settings.confidence)
        cleaned = _verify_columns(verifier, policy, redacted, report)
    _find_raw_values(policy, raw, cleaned, report)
    report.rows_in, report.row_budget = len(redacted), row_budget
    return report, cleaned


def _verify_columns(
    verifier: ResidualVerifier, policy: PiiPolicy, redacted: pd.DataFrame, report: ResidualReport
) -> pd.DataFrame:
    settings = policy.residual
    size = settings.sample_cells or sample_size(settings.max_residual_rate, settings.confidence)
    out = {}
    for name in redacted.columns:
        rule = policy.columns[name]
        series = redacted[name]
        out[name] = series
        entities = _entities_to_verify(policy, rule)
        if not entities or series.dtype != object:
            continue
        texts = _distinct_texts(series)
        chosen = [texts[i] for i in choose_sample(texts, size)]
        flagged = {
            text: hits
            for text, hits in zip(chosen, _flag(verifier, chosen, entities), strict=True)
            if hits
        }
        kept = isinstance(rule, KeepRule)
        report.columns[name] = ColumnResidual(
            len(texts), len(chosen), len(flagged), _entity_counts(flagged.values()), kept
        )
        if flagged and kept:
            reason = f"an identifier in the kept column {name}"
            for label in redacted.index[series.isin(list(flagged))]:
                report.quarantine_rows.setdefault(label, reason)
        if flagged:
            fixes = {text: replace_hits(text, hits) for text, hits in flagged.items()}
            out[name] = series.map(lambda v, f=fixes: f.get(v, v) if isinstance(v, str) else v)
    if all(out[name] is redacted[name] for name in redacted.columns):
        return redacted  # nothing flagged: no copy of a large table
    return pd.DataFrame(out, index=redacted.index)


def _distinct_texts(series: pd.Series) -> list[str]:
    """The column's distinct non-blank texts, sorted: the population the sample is drawn
    from. Sorted and deduplicated by numpy, with no set of them all (a column of five million
    transaction ids would hold one next to the raw and redacted tables)."""
    texts = [text for text in map(str, series.dropna().unique()) if text.strip()]
    return np.unique(np.array(texts, dtype=object)).tolist() if texts else []


def _flag(verifier: ResidualVerifier, texts: list[str], entities: list[str]) -> list[list[Hit]]:
    """``verifier.flag``, on both cores for a large sample (``split_in_two``). Its analyzers are
    built first, so a forked child shares them instead of loading the model again."""
    build_pattern_analyzer(verifier.language)
    if set(entities) & NER_ENTITIES:
        build_lean_analyzer(verifier.spacy_model, verifier.language)
    parts = split_in_two(
        lambda start, end: verifier.flag(texts[start:end], entities),
        [len(t) for t in texts],
        min_items=_PARALLEL_CELLS,
        min_weight=_PARALLEL_CHARS,
    )
    return [hits for part in parts for hits in part]


def _entities_to_verify(policy: PiiPolicy, rule: ColumnRule) -> list[str]:
    """Free text is verified for every gate entity; a kept column for the pattern entities
    only (an e-mail or card in a shifted field), since NER and address shapes on codes and
    categories are noise;
    hashed, masked and generalized columns hold the policy's own output, checked for raw
    values instead."""
    entities = [e for e in policy.gate_entities if e not in rule.allow_entities]
    if isinstance(rule, ScanRule):
        return entities
    if isinstance(rule, KeepRule):
        return [e for e in entities if e not in NER_ENTITIES and e != "STREET_ADDRESS"]
    return []


def _entity_counts(flagged: Iterable[list[Hit]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for hits in flagged:
        for hit in hits:
            counts[hit.entity] = counts.get(hit.entity, 0) + 1
    return dict(sorted(counts.items()))


def _find_raw_values(
    policy: PiiPolicy, raw: pd.DataFrame, redacted: pd.DataFrame, report: ResidualReport
) -> None:
    """Rows where a raw value (four characters or more) of a PII column survives verbatim in
    any text column. One hash table of the raw values, built once; pandas looks each column's
    distinct values up in it (no Python call per cell, no copy of a column)."""
    parts = [
        as_texts(pd.Series(raw[name].unique(), dtype=object))
        for name, rule in policy.columns.items()
        if rule.entity and not isinstance(rule, KeepRule) and name in raw.columns
    ]
    values = pd.concat(parts) if parts else pd.Series([], dtype=object)
    protected = pd.Index(values[values.str.len() >= 4].unique())
    if protected.empty:
        return
    for name in redacted.columns:
        series = redacted[name]
        if series.dtype != object:
            continue
        # Looked up once per distinct value, then mapped back to the rows holding one.
        uniques = pd.Series(series.dropna().unique(), dtype=object)
        hits = uniques[protected.get_indexer(as_texts(uniques)) != -1]
        found = series.index[series.isin(hits)] if len(hits) else series.index[:0]
        if len(found):
            report.surviving_raw_values[name] = len(found)
            reason = f"a raw value of a PII column survived redaction in {name}"
            for label in found:
                report.quarantine_rows.setdefault(label, reason)
