"""Data contracts: GX 1.x expectation suites (``expectations/<asset>.json``), loaded and checked.

Each expectation becomes one Dagster asset check, so the UI shows exactly which clause failed.
Severity comes from the expectation's ``meta.severity`` (falling back to GX's own ``severity``
field): ``critical`` blocks, anything else warns. The suite's content hash versions the checks.
"""

import functools
import hashlib
import importlib.metadata
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline import settings
from pipeline.declarations.files import read_mapping, write_text_atomically
from pipeline.errors import DeclarationError


@dataclass(frozen=True)
class Clause:
    """One expectation of a suite, named as the Dagster check that runs it."""

    check_name: str
    expectation_type: str
    column: str | None
    blocking: bool
    description: str
    config: dict[str, Any]


@dataclass(frozen=True)
class ContractSuite:
    name: str
    path: Path
    content_hash: str
    clauses: tuple[Clause, ...]
    raw: dict[str, Any]

    def columns(self) -> set[str]:
        named: set[str] = set()
        for clause in self.clauses:
            kwargs = clause.config.get("kwargs", {})
            for key in ("column", "column_A", "column_B"):
                if key in kwargs:
                    named.add(kwargs[key])
            for key in ("column_list", "column_set"):
                named.update(kwargs.get(key) or [])
        return named

    def only(self, clauses: list[Clause]) -> "ContractSuite":
        """The same suite with only ``clauses`` (in the suite's order): for a GX pass that
        needs no other (the table-level clauses on the rows left after a row-level screen)."""
        names = {c.check_name for c in clauses}
        kept = [i for i, c in enumerate(self.clauses) if c.check_name in names]
        expectations = self.raw.get("expectations") or []
        return ContractSuite(
            self.name,
            self.path,
            hashlib.sha256(f"{self.content_hash}:{kept}".encode()).hexdigest(),
            tuple(self.clauses[i] for i in kept),
            {**self.raw, "expectations": [expectations[i] for i in kept]},
        )

    def check_columns(self, columns: list[str], asset: str) -> None:
        unknown = sorted(self.columns() - set(columns))
        if unknown:
            raise DeclarationError(
                f"{self.path}: expectations name columns {unknown} that asset {asset!r} does not "
                f"have (it has {sorted(columns)}); fix the suite or the policy/feature SQL"
            )


# The check names the UI shows, short enough not to be cut: the expectation's gist, then its
# column. The Dagster UI truncates long names in the middle, where GX's own type names
# (``column_values_to_be_unique__customer_id``) lose exactly what tells two checks apart.
_SHORT_NAMES = {
    "expect_column_values_to_not_be_null": "not_null",
    "expect_column_values_to_be_null": "null",
    "expect_column_values_to_be_unique": "unique",
    "expect_column_values_to_match_regex": "regex",
    "expect_column_values_to_not_match_regex": "not_regex",
    "expect_column_values_to_be_in_set": "in_set",
    "expect_column_values_to_not_be_in_set": "not_in_set",
    "expect_column_values_to_be_between": "range",
    "expect_column_value_lengths_to_be_between": "length",
    "expect_column_mean_to_be_between": "mean",
    "expect_table_row_count_to_be_between": "row_count",
    "expect_table_columns_to_match_set": "column_set",
    "expect_table_columns_to_match_ordered_list": "column_order",
}
# Other types: the words left when the ones most types share are dropped.
_FILLER = {"expect", "column", "values", "value", "table", "to", "be"}


def short_check_name(expectation_type: str) -> str:
    """``expect_column_values_to_be_unique`` -> ``unique``; an unlisted type keeps its own
    words (``expect_column_values_to_be_of_type`` -> ``of_type``)."""
    if expectation_type in _SHORT_NAMES:
        return _SHORT_NAMES[expectation_type]
    words = [w for w in expectation_type.split("_") if w not in _FILLER]
    return "_".join(words) or expectation_type


def _check_name(expectation_type: str, kwargs: dict[str, Any], meta: dict[str, Any]) -> str:
    """``meta.check_name`` if the suite names the check, else the short name and the column."""
    if meta.get("check_name"):
        return str(meta["check_name"])
    column = kwargs.get("column") or "_".join(kwargs.get("column_list") or [])
    short = short_check_name(expectation_type)
    name = f"{short}__{column}" if column else short
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _unique_names(names: list[str]) -> list[str]:
    """Two clauses of one kind on one column (two regexes, say) get ``_2``, ``_3`` in suite
    order; a name used once keeps no suffix."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return unique


def load_suite(path: Path) -> ContractSuite:
    """Read a native GX 1.x suite JSON; fail with file and reason if GX rejects it."""
    data = read_mapping(path)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    configs = _built_configs(path, data, digest)
    names = _unique_names(
        [_check_name(c["type"], c.get("kwargs", {}), c.get("meta") or {}) for c in configs]
    )
    clauses = [_clause(name, config) for name, config in zip(names, configs, strict=True)]
    return ContractSuite(str(data.get("name") or path.stem), path, digest, tuple(clauses), data)


def _built_configs(path: Path, data: dict[str, Any], digest: str) -> list[dict[str, Any]]:
    """The suite's expectations as GX builds them, each as its configuration.

    GX itself checks the suite: importing it takes seconds, in every process that loads the
    code location (each ``govern`` command, code server, daemon and worker), most of which
    never validate data. So what GX built is kept under ``GOVERN_HOME/cache/contracts``, keyed
    by the suite's content hash and the GX version: a later load of the same suite with the
    same GX reads it back; any change to either checks it with GX again.
    """
    cache = _cache_file(digest)
    if cache is not None:
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if isinstance(cached, list):
                return cached
        except (OSError, ValueError):
            pass
    configs = _gx_configs(path, data)
    if cache is not None:
        _write_cache(cache, json.dumps(configs, sort_keys=True))
    return configs


def _gx_configs(path: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        suite = gx_suite(data)
    except Exception as exc:  # GX raises many types for a malformed suite; report it, don't hide
        raise DeclarationError(f"{path}: not a valid GX 1.x expectation suite: {exc}") from None
    declared = data.get("expectations") or []
    if len(suite.expectations) != len(declared):
        # GX logs an unknown or invalid expectation and drops it: a contract clause must never
        # vanish silently, so name the ones it could not build.
        built = {e.configuration.to_json_dict()["type"] for e in suite.expectations}
        lost = [
            f"expectations.{i} ({e.get('type')!r})"
            for i, e in enumerate(declared)
            if e.get("type") not in built
        ]
        raise DeclarationError(
            f"{path}: not a valid GX 1.x expectation suite: GX could not "
            f"build {', '.join(lost) or 'some expectations'}; check the "
            "type and kwargs"
        )
    return [e.configuration.to_json_dict() for e in suite.expectations]


def _cache_file(digest: str) -> Path | None:
    """Where GX's build of a suite with this content hash is kept; None where GX is not
    installed, or no run has made the run-time folder yet (loading declarations alone never
    creates it)."""
    home = settings.govern_home(create=False)
    version = _gx_version()
    if version is None or not home.is_dir():
        return None
    return home / "cache" / "contracts" / f"{digest}-gx{version}.json"


@functools.cache
def _gx_version() -> str | None:
    """The installed GX's version, read from its metadata once (not by importing it)."""
    try:
        return importlib.metadata.version("great_expectations")
    except importlib.metadata.PackageNotFoundError:
        return None


def _write_cache(target: Path, text: str) -> None:
    """Keep GX's build (whole or not at all, for a process reading it at the same time); a
    cache that cannot be written is only a slower next load."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(target, text)
    except OSError:
        pass


def _clause(name: str, config: dict[str, Any]) -> Clause:
    kwargs, meta = config.get("kwargs", {}), config.get("meta") or {}
    severity = str(meta.get("severity") or config.get("severity") or "critical")
    description = f"{config['type']}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    return Clause(
        name,
        config["type"],
        kwargs.get("column"),
        severity.lower() == "critical",
        description,
        config,
    )


def gx_suite(data: dict[str, Any]):
    import great_expectations as gx  # imported lazily: GX takes seconds to import

    return gx.ExpectationSuite(**data)
