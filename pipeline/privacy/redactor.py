"""Redaction: apply a source's PII policy to a DataFrame.

Structured columns are transformed in bulk, once per distinct value (hash, mask, generalize,
replace, drop). Only ``scan`` columns pay for detection, and only once per distinct text,
column-wide (see ``pipeline.privacy.scanner``); the row's own identifying values (its name,
email, phone) and known names are also redacted wherever they appear in that row's text, which
catches what NER misses.

Nothing here ever returns or logs a raw value: reports hold column names, entity types and
counts only.
"""

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
from presidio_analyzer import RecognizerResult
from presidio_anonymizer.entities import OperatorConfig

from pipeline.privacy.known_values import known_name_hits, name_parts, row_value_hits
from pipeline.privacy.names import complete_names
from pipeline.privacy.parallel import split_in_two
from pipeline.privacy.policy import (
    DropRule,
    GeneralizeRule,
    HashRule,
    KeepRule,
    MaskRule,
    PiiPolicy,
    ReplaceRule,
    ScanRule,
)
from pipeline.privacy.presidio import anonymizer, custom_recognizers
from pipeline.privacy.scanner import ColumnScanner, Progress
from pipeline.privacy.spans import Hit, outside_tags, replace_hits, resolve_hits, trimmed
from pipeline.privacy.transforms import as_text, generalize, hmac_token, map_unique, mask_value
from pipeline.settings import DEFAULT_SPACY_MODEL


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
            name: {
                "action": r.action,
                "entity": r.entity,
                "values_changed": r.values_changed,
                "entities_found": r.entities_found,
            }
            for name, r in self.columns.items()
        }


# Below this many rows and characters, a forked second process costs more than it saves.
_PARALLEL_ROWS = 2000
_PARALLEL_CHARS = 200_000


@dataclass
class _Rows:
    """A free-text column and what its rows are redacted with, for ``Redactor._scan_rows``."""

    texts: list
    row_values: list[tuple[list, str]]  # each row-value column's values, and its entity
    allow: frozenset[str]
    known_names: frozenset[str]


@dataclass
class _Part:
    """Rows of a column redacted: their values, entity counts, rows changed."""

    out: list = field(default_factory=list)
    found: Counter[str] = field(default_factory=Counter)
    changed: int = 0
    ticks: int = 0

    def tick(self, count: int) -> None:
        self.ticks += count


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


class Redactor:
    """Applies one policy; holds the scanners and the HMAC key for the duration of a run."""

    def __init__(self, policy: PiiPolicy, hmac_key: bytes, spacy_model: str = DEFAULT_SPACY_MODEL):
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
                wanted,
                threshold=threshold,
                custom=self.recognizers,
                allow_list=self.policy.allow_list,
                deny_lists=self.policy.deny_lists,
                phone_regions=self.policy.phone_regions,
                spacy_model=self.spacy_model,
                language=self.policy.language,
            )
        return self._scanners[key]

    def scan_texts(
        self,
        texts: list[str],
        entities: list[str],
        threshold: float,
        progress: Progress = None,
        allow: frozenset[str] = frozenset(),
    ) -> list[list[Hit]]:
        """Entities in distinct texts, found column-wide (see ``pipeline.privacy.scanner``);
        ``allow`` holds values never redacted in these texts (lower case)."""
        return self.scanner(entities, threshold).scan(texts, progress, allow)

    def _allowed_values(self, frame: pd.DataFrame, rule: ScanRule) -> frozenset[str]:
        """The values of the rule's ``allow_values_from`` columns, any row, lower case."""
        return frozenset(
            str(v).strip().lower()
            for c in rule.allow_values_from
            for v in frame[c].dropna().unique()
            if str(v).strip()
        )

    def redact(
        self,
        frame: pd.DataFrame,
        progress: Progress = None,
        other_names: dict[str, pd.Series] | None = None,
    ) -> tuple[pd.DataFrame, RedactionReport]:
        """A new, redacted frame (the input is not modified) and a report of counts.

        ``other_names`` holds, per ``source.column`` named in ``known_names_from``, that
        column's values (read from the other source's raw table).
        """
        self.policy.check_columns(list(frame.columns), f"policies/{self.policy.source}.yaml")
        report = RedactionReport()
        out: dict[str, pd.Series] = {}
        for name, rule in self.policy.columns.items():
            column_report = ColumnReport(action=rule.action, entity=rule.entity)
            report.columns[name] = column_report
            if isinstance(rule, ScanRule):
                out[name], found, changed = self._scan(
                    frame, name, rule, progress, other_names or {}
                )
                column_report.entities_found, column_report.values_changed = found, changed
                continue
            series = frame[name]
            if not isinstance(rule, KeepRule):
                column_report.values_changed = int(series.notna().sum())
            if not isinstance(rule, DropRule):
                out[name] = self._transform(series, rule)
        return pd.DataFrame(out, index=frame.index), report

    def _transform(self, series: pd.Series, rule) -> pd.Series:
        if isinstance(rule, KeepRule):
            return series
        if isinstance(rule, HashRule):
            return map_unique(series, lambda v: hmac_token(self.hmac_key, as_text(v), rule.prefix))
        if isinstance(rule, MaskRule):
            return map_unique(series, lambda v: mask_value(v, rule.keep_last, rule.mask_char))
        if isinstance(rule, ReplaceRule):
            return series.map(lambda v: None if pd.isna(v) else f"<{rule.entity}>")
        if isinstance(rule, GeneralizeRule):
            return generalize(series, rule)
        raise TypeError(f"unhandled rule {rule!r}")

    def _known_names(
        self, frame: pd.DataFrame, rule: ScanRule, other_names: dict[str, pd.Series]
    ) -> frozenset[str]:
        missing = [c for c in rule.known_names_from if "." in c and c not in other_names]
        if missing:
            raise ValueError(f"known names {missing} were not provided to the redactor")
        return name_parts(
            [frame[c] if "." not in c else other_names[c] for c in rule.known_names_from]
        )

    def _scan(
        self,
        frame: pd.DataFrame,
        name: str,
        rule: ScanRule,
        progress: Progress,
        other_names: dict[str, pd.Series],
    ) -> tuple[pd.Series, dict[str, int], int]:
        """Redact one free-text column: on both cores for a large one (``split_in_two``: each
        half of the rows is scanned, redacted and scanned again on its own; what is allowed and
        the known names come from the whole table)."""
        texts = frame[name].tolist()
        rows = _Rows(
            texts=texts,
            row_values=[
                (frame[c].tolist(), self.policy.columns[c].entity or "PII")
                for c in rule.redact_row_values_from
            ],
            allow=self._allowed_values(frame, rule),
            known_names=self._known_names(frame, rule, other_names),
        )
        parts = split_in_two(
            lambda start, end: self._scan_rows(rows, rule, start, end, progress),
            [0 if _missing(t) else len(str(t)) for t in texts],
            min_items=_PARALLEL_ROWS,
            min_weight=_PARALLEL_CHARS,
        )
        found: Counter[str] = Counter()
        for part in parts:
            found.update(part.found)
            if progress and part.ticks:
                progress(part.ticks)  # the child's share, counted there
        out = [value for part in parts for value in part.out]
        changed = sum(part.changed for part in parts)
        return pd.Series(out, index=frame.index, dtype=object), dict(sorted(found.items())), changed

    def _scan_rows(
        self, rows: _Rows, rule: ScanRule, start: int, end: int, progress: Progress
    ) -> _Part:
        """Rows ``[start, end)`` of a free-text column redacted: each distinct text scanned once,
        then each row's own values and the known names, then a second pass."""
        part = _Part()
        if start and progress:  # a forked child: count, the parent reports
            progress = part.tick
        texts = rows.texts[start:end]
        uniques = list(dict.fromkeys(str(t) for t in texts if not _missing(t) and str(t).strip()))
        found_in = dict(
            zip(
                uniques,
                self.scan_texts(uniques, rule.entities, rule.score_threshold, progress, rows.allow),
                strict=True,
            )
        )
        for position, value in enumerate(texts, start=start):
            text = None if _missing(value) else str(value)
            if text is None or text not in found_in:
                part.out.append(value)
                continue
            row_values = [(values[position], entity) for values, entity in rows.row_values]
            hits = [
                *found_in[text],
                *row_value_hits(row_values, text),
                *known_name_hits(text, rows.known_names),
            ]
            hits = resolve_hits(complete_names(text, hits, rows.allow))
            if not hits:
                part.out.append(value)
                continue
            part.found.update(h.entity for h in hits)
            part.changed += 1
            part.out.append(_anonymize(text, hits))
        part.out = self._second_pass(part.out, rule, part.found, rows.allow)
        return part

    def _second_pass(
        self, out: list, rule: ScanRule, found: Counter[str], allow: frozenset[str]
    ) -> list:
        """Scan the redacted texts once more and redact what appears only now.

        Replacing an entity changes its neighbours' context, and NER can then see a name it
        missed. Texts repeat heavily once redacted, so it costs little. (The residual gate
        does not re-run this scanner: it verifies with its own method, ``verifier.py``.)
        """
        texts = sorted({t for t in out if isinstance(t, str) and t.strip()})
        again = dict(
            zip(
                texts,
                self.scan_texts(texts, rule.entities, rule.score_threshold, allow=allow),
                strict=True,
            )
        )
        fixed = {}
        for text, hits in again.items():
            hits = outside_tags(text, hits)
            if hits:
                found.update(h.entity for h in hits)
                fixed[text] = replace_hits(text, hits)
        return [fixed.get(t, t) if isinstance(t, str) else t for t in out]


def _anonymize(text: str, hits: list[Hit]) -> str:
    """Presidio's anonymizer replaces each hit with its ``<ENTITY>`` tag."""
    return (
        anonymizer()
        .anonymize(
            text=text,
            operators={"DEFAULT": OperatorConfig("replace")},
            analyzer_results=[
                RecognizerResult(h.entity, h.start, h.end, h.score) for h in trimmed(text, hits)
            ],
        )
        .text
    )
