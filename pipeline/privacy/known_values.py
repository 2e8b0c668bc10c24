"""Identifying values the data already holds, found again in free text.

NER misses names it has not seen; the data does not. A row's own name, e-mail and phone are
redacted wherever they appear in that row's notes, and any part of any name a name column
holds (in this source, or another source of the dataset) wherever it appears capitalized.
"""

import re
from collections.abc import Callable, Iterable

import duckdb
import pandas as pd

from pipeline.privacy.policy import PiiPolicy
from pipeline.privacy.spans import Hit
from pipeline.privacy.transforms import as_text
from pipeline.storage.sql import quote_ident

_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W\d_]|[^\W\d_]", re.UNICODE)


def names_from_other_sources(
    conn: duckdb.DuckDBPyConnection, policy: PiiPolicy, table_of: Callable[[str], str]
) -> dict[str, pd.Series]:
    """Per ``source.column`` in the policy's ``known_names_from``, that column's distinct
    values, read from ``table_of(source)`` (a raw table, or a file just ingested)."""
    return {
        f"{other}.{column}": conn.execute(
            f"SELECT DISTINCT {quote_ident(column)} FROM {table_of(other)}"
        ).df()[column]
        for other, column in sorted(policy.names_from_other_sources())
    }


def name_parts(columns: list[pd.Series]) -> frozenset[str]:
    """Every part (3+ letters) of every name in ``columns``, as written, Title and UPPER case."""
    parts: set[str] = set()
    for column in columns:
        for value in column.dropna().unique():
            for part in _WORD.findall(str(value)):
                if len(part) >= 3:
                    parts.update({part, part.title(), part.upper()})
    return frozenset(parts)


def known_name_hits(text: str, names: frozenset[str]) -> list[Hit]:
    """Capitalized words of ``text`` that are a known name part: one set lookup per word."""
    if not names:
        return []
    return [
        Hit(m.start(), m.end(), "PERSON", 1.0)
        for m in _WORD.finditer(text)
        if m.group(0)[0].isupper() and m.group(0) in names
    ]


def _needles(value: str, entity: str) -> Iterable[str]:
    """The value itself and, for a person, each part of the name long enough to be safe."""
    if len(value) >= 3:
        yield value
    if entity == "PERSON":
        for part in re.split(r"[\s,]+", value):
            if len(part) >= 3:
                yield part


def row_value_hits(values: list[tuple[object, str]], text: str) -> list[Hit]:
    """Where the row's own values (each with its entity) appear in ``text``, any case."""
    hits = []
    lowered = text.lower()
    # A few characters change length when lowered ("İ"): then offsets need a regex.
    exact_offsets = len(lowered) == len(text)
    for value, entity in values:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            continue
        for needle in _needles(as_text(value), entity):
            if not exact_offsets:
                hits += [
                    Hit(m.start(), m.end(), entity, 1.0)
                    for m in re.finditer(re.escape(needle), text, flags=re.IGNORECASE)
                ]
                continue
            needle = needle.lower()
            start = lowered.find(needle)
            while start != -1:
                hits.append(Hit(start, start + len(needle), entity, 1.0))
                start = lowered.find(needle, start + 1)
    return hits
