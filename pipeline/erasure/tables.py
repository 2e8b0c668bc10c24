"""The subject's rows out of every table of the dataset, in every version still on disk.

Each table is matched by the column that names the subject in it: the raw tables by the raw
identifiers, the redacted tables and their quarantines by the keyed tokens the policy made of
them, the feature table (and its quarantine) by its key, the ingest quarantines by the
identifier inside each rejected line's text. Tables reached through derived keys are erased
first and the raw tables last, so an erasure interrupted half way still finds every key again
on a rerun.
"""

import csv
import json
from dataclasses import dataclass

import pyarrow as pa

from pipeline.erasure.footprint import Footprint, redacted_form
from pipeline.erasure.scope import Scope, Subject
from pipeline.naming import redacted_asset
from pipeline.storage.sql import quote_ident
from pipeline.storage.tables import Erased, TableStore, erase_rows


@dataclass(frozen=True)
class Match:
    """Rows of ``table`` whose ``column`` (as text) is one of ``values``."""

    table: str
    column: str
    values: frozenset[str]


def plan(scope: Scope, subject: Subject, footprint: Footprint, key: bytes) -> list[Match]:
    """Every table that may hold the subject's rows, features first, raw last."""
    matches = _feature_matches(scope, footprint, key)
    for source in scope.sources:
        values = redacted_form(scope.policies[source], scope.link, footprint.link_values, key)
        for table in (f"redacted.{source}", f"quarantine.{redacted_asset(source)}"):
            matches.append(Match(table, scope.link, frozenset(values)))
    for source in reversed(scope.sources):
        matches.append(Match(f"raw.{source}", scope.link, frozenset(footprint.link_values)))
    if subject.column != scope.link:
        matches.append(Match(f"raw.{scope.primary}", subject.column, frozenset({subject.value})))
    return [m for m in matches if m.values]


def _feature_matches(scope: Scope, footprint: Footprint, key: bytes) -> list[Match]:
    """The feature table by its key: the primary key, or the key of a dependent source."""
    features = scope.dataset.features
    column = features.key or scope.link
    owner = next(
        (s for s in scope.sources if scope.dataset.sources[s].key == column), scope.primary
    )
    raw = footprint.link_values if owner == scope.primary else footprint.keys.get(owner, set())
    values = redacted_form(scope.policies[owner], column, raw, key) | set(raw)
    return [
        Match(f"features.{features.name}", column, frozenset(values)),
        Match(f"quarantine.{features.name}", column, frozenset(values)),
    ]


def predicate(column: str, kind: pa.DataType, values: frozenset[str]) -> str | None:
    """A Delta SQL predicate for ``column IN values``, typed as the column is; None when no
    value can be of that type (nothing to delete)."""
    if pa.types.is_integer(kind):
        numbers = sorted({int(v) for v in values if v.lstrip("-").isdigit()})
        literals = [str(n) for n in numbers]
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        literals = ["'" + v.replace("'", "''") + "'" for v in sorted(values)]
    else:
        return None
    return f"{quote_ident(column)} IN ({', '.join(literals)})" if literals else None


def _quarantined_lines(
    store: TableStore, source: str, header: list[str], column: str, values: frozenset[str]
) -> set[int]:
    """Line numbers of an ingest quarantine whose rejected text names the subject: ``raw`` is
    the row as JSON (untypable values, duplicates) or the line as read (malformed lines)."""
    table = store.snapshot("quarantine", source).dataset.to_table(columns=["line", "raw"])
    lines = set()
    for line, raw in zip(table["line"].to_pylist(), table["raw"].to_pylist(), strict=True):
        if raw and _raw_field(raw, header, column) in values:
            lines.add(int(line))
    return lines


def _raw_field(raw: str, header: list[str], column: str) -> str | None:
    if raw.lstrip().startswith("{"):
        try:
            value = json.loads(raw).get(column)
            return None if value is None else str(value).strip()
        except (json.JSONDecodeError, AttributeError):
            pass
    fields = next(csv.reader([raw]), [])
    index = header.index(column) if column in header else -1
    return fields[index].strip() if 0 <= index < len(fields) else None


def erase_match(store: TableStore, match: Match, commit: dict[str, str]) -> Erased | None:
    """Delete a match's rows and purge the table's history; None if the table does not exist."""
    schema, table = match.table.split(".")
    if not store.exists(schema, table):
        return None
    fields = store.snapshot(schema, table).dataset.schema
    if match.column not in fields.names:
        return None
    condition = predicate(match.column, fields.field(match.column).type, match.values)
    if condition is None:
        return None
    return erase_rows(store, match.table, condition, commit)


def erase_ingest_quarantine(
    store: TableStore,
    source: str,
    header: list[str],
    columns: dict[str, frozenset[str]],
    commit: dict[str, str],
) -> Erased | None:
    """The rejected lines of ``source`` that name the subject (by any of ``columns``)."""
    if not store.exists("quarantine", source):
        return None
    lines: set[int] = set()
    for column, values in columns.items():
        lines |= _quarantined_lines(store, source, header, column, values)
    condition = (
        f"{quote_ident('line')} IN ({', '.join(map(str, sorted(lines)))})" if lines else ("false")
    )
    return erase_rows(store, f"quarantine.{source}", condition, commit)
