"""Where a subject lives in a dataset, derived from its declaration, never hard-coded.

The subject is named by a column and a value (``customer_id=1042``). The source whose key is
that column holds the subject's own rows (the *primary* source); every other source with a
column of the same name holds rows about the subject (the churn transactions of a customer, the
readmission encounters of a patient): its *dependents*. The feature table is matched through its
key, which is either the primary key or a dependent's key.
"""

from dataclasses import dataclass
from pathlib import Path

from pipeline.declarations.dataset import DatasetSpec, load_datasets
from pipeline.errors import GovernError
from pipeline.naming import policy_path
from pipeline.privacy.policy import PiiPolicy, load_policy


class ErasureError(GovernError):
    """An erasure request cannot be carried out: says what, where and what to do."""


@dataclass(frozen=True)
class Subject:
    """The person to erase: ``column=value`` in dataset ``dataset``."""

    dataset: str
    column: str
    value: str


@dataclass(frozen=True)
class Scope:
    """The dataset's sources as the subject reaches them."""

    dataset: DatasetSpec
    primary: str
    link: str  # the primary source's key: the column dependents name the subject by
    dependents: tuple[str, ...]
    policies: dict[str, PiiPolicy]

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.primary, *self.dependents)


def parse_subject(dataset: str, text: str) -> Subject:
    """``COLUMN=VALUE`` as a subject; a clear error for anything else."""
    column, sep, value = text.partition("=")
    if not sep or not column.strip() or not value.strip():
        raise ErasureError(f"a subject is COLUMN=VALUE (e.g. customer_id=1042), got {text!r}")
    return Subject(dataset, column.strip(), value.strip())


def resolve_scope(root: Path, subject: Subject) -> Scope:
    """The primary source (the one keyed by the subject's column, else the first that has it)
    and the dependents that name the primary key, from the dataset's declaration."""
    datasets = {d.name: d for d in load_datasets(root)}
    if subject.dataset not in datasets:
        raise ErasureError(
            f"dataset {subject.dataset!r} is not declared (datasets/{subject.dataset}.yaml); "
            f"declared: {', '.join(sorted(datasets)) or 'none'}"
        )
    spec = datasets[subject.dataset]
    having = [name for name, source in spec.sources.items() if subject.column in source.columns]
    if not having:
        raise ErasureError(
            f"no source of dataset {spec.name!r} has a column {subject.column!r}: name the "
            "subject by a declared column, e.g. a source's key "
            f"({', '.join(s.key for s in spec.sources.values() if s.key)})"
        )
    keyed = [name for name in having if spec.sources[name].key == subject.column]
    primary = (keyed or having)[0]
    link = spec.sources[primary].key or subject.column
    dependents = tuple(
        name for name, source in spec.sources.items() if name != primary and link in source.columns
    )
    policies = {name: load_policy(policy_path(root, name)) for name in spec.sources}
    return Scope(spec, primary, link, dependents, policies)
