"""The subject's footprint: which rows are theirs in every source, and which values identify
them, read from the landing files and the raw tables before anything is erased.

The values (identifier, name, e-mail, phone, the keyed tokens the redacted tables hold) stay in
memory for the proof; the ledger keeps only keyed HMACs of them.
"""

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipeline.erasure.landing import _is_in, matching_rows
from pipeline.erasure.scope import Scope, Subject
from pipeline.privacy.policy import HashRule, PiiPolicy
from pipeline.privacy.transforms import as_text, hmac_token
from pipeline.storage.tables import TableStore

# Policy actions whose columns hold what identifies a person (their raw values are searched
# for in the proof): what the policy removes or replaces by a token.
IDENTIFYING_ACTIONS = ("drop", "hash", "mask", "replace")
# A person named in a dependent record is someone else (the attending physician of a patient's
# encounter, a contact): the subject's own name is in the primary source. Not searched for.
OTHER_PEOPLE = ("PERSON",)


@dataclass
class Footprint:
    """Where the subject is, as keys per source, and what identifies them."""

    link_values: set[str] = field(default_factory=set)  # the primary key values
    keys: dict[str, set[str]] = field(default_factory=dict)  # source -> its keys of their rows
    rows: dict[str, int] = field(default_factory=dict)  # source -> rows found (landing or raw)
    values: dict[str, set[str]] = field(default_factory=dict)  # kind -> values (memory only)

    @property
    def found(self) -> bool:
        return any(self.rows.values())

    def add_values(self, kind: str, values: set[str]) -> None:
        self.values.setdefault(kind, set()).update(v for v in values if v)


def _raw_rows(store: TableStore, source: str, column: str, values: set[str]) -> list[dict]:
    if not values or not store.exists("raw", source):
        return []
    table = store.snapshot("raw", source).dataset.to_table()
    if column not in table.column_names:
        return []
    return table.filter(_is_in(table[column], values)).to_pylist()


def _rows(root: Path, store: TableStore, scope: Scope, source: str, column: str, values: set[str]):
    spec = scope.dataset.sources[source]
    landing = matching_rows(root / spec.path, spec, column, values)
    raw = _raw_rows(store, source, column, values)
    return landing, raw


def _texts(rows: list[dict], column: str) -> set[str]:
    return {as_text(r[column]) for r in rows if r.get(column) not in (None, "")}


def locate(root: Path, store: TableStore, scope: Scope, subject: Subject, key: bytes) -> Footprint:
    """Find the subject's rows in the primary source, then the rows that name them in every
    dependent source, in the landing files and the raw tables alike."""
    footprint = Footprint()
    landing, raw = _rows(root, store, scope, scope.primary, subject.column, {subject.value})
    footprint.link_values = _texts(landing + raw, scope.link)
    if subject.column == scope.link:
        footprint.link_values.add(subject.value)
    _record(footprint, scope, scope.primary, landing, raw, key)
    footprint.add_values(f"identifier ({subject.column})", {subject.value})
    for source in scope.dependents:
        landing, raw = _rows(root, store, scope, source, scope.link, footprint.link_values)
        _record(footprint, scope, source, landing, raw, key)
    return footprint


def _record(footprint: Footprint, scope: Scope, source: str, landing, raw, key: bytes) -> None:
    spec, policy = scope.dataset.sources[source], scope.policies[source]
    footprint.rows[source] = max(len(landing), len(raw))
    if spec.key:
        footprint.keys[source] = _texts(landing + raw, spec.key)
    for column, rule in policy.columns.items():
        if rule.action not in IDENTIFYING_ACTIONS:
            continue
        if source != scope.primary and rule.entity in OTHER_PEOPLE:
            continue
        values = _texts(landing + raw, column)
        footprint.add_values(rule.entity or column, values)
        if isinstance(rule, HashRule):
            tokens = {hmac_token(key, v, rule.prefix) for v in values}
            footprint.add_values(f"HMAC token ({column})", tokens)


def redacted_form(policy: PiiPolicy, column: str, values: set[str], key: bytes) -> set[str]:
    """How ``values`` of ``column`` look after the policy: keyed tokens for a hashed column,
    the values themselves for a kept one, nothing to match by for any other action."""
    rule = policy.columns.get(column)
    if isinstance(rule, HashRule):
        return {hmac_token(key, v, rule.prefix) for v in values}
    if rule is not None and rule.action == "keep":
        return set(values)
    return set()


def as_arrow_values(values: set[str]) -> pa.Array:
    return pa.array(sorted(values), pa.string())
