"""Data contracts: GX 1.x expectation suites (``expectations/<asset>.json``) run on a frame.

Each expectation becomes one Dagster asset check, so the UI shows exactly which clause failed.
Severity comes from the expectation's ``meta.severity`` (falling back to GX's own ``severity``
field): ``critical`` blocks, anything else warns. The suite's content hash versions the checks.
Validation runs on the pandas frame read from DuckDB, in an ephemeral GX context: no files, no
network.
"""

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import DeclarationError
from pipeline.yaml_loading import read_mapping

_MAX_SAMPLE = 5


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

    def check_columns(self, columns: list[str], asset: str) -> None:
        unknown = sorted(self.columns() - set(columns))
        if unknown:
            raise DeclarationError(
                f"{self.path}: expectations name columns {unknown} that asset {asset!r} does not "
                f"have (it has {sorted(columns)}); fix the suite or the policy/feature SQL"
            )


@dataclass(frozen=True)
class ClauseResult:
    clause: Clause
    success: bool
    observed_value: Any
    unexpected_count: int | None
    unexpected_percent: float | None
    unexpected_sample: list[Any]

    def summary(self) -> str:
        if self.success:
            return f"{self.clause.description}: passed"
        parts = [f"{self.clause.description}: failed"]
        if self.unexpected_count is not None:
            parts.append(f"{self.unexpected_count} unexpected ({self.unexpected_percent:.2f}%)")
        if self.observed_value is not None:
            parts.append(f"observed {self.observed_value!r}")
        return ", ".join(parts)


def _check_name(expectation_type: str, kwargs: dict[str, Any], meta: dict[str, Any]) -> str:
    if meta.get("check_name"):
        return str(meta["check_name"])
    short = expectation_type.removeprefix("expect_")
    column = kwargs.get("column") or "_".join(kwargs.get("column_list") or [])
    name = f"{short}__{column}" if column else short
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def load_suite(path: Path) -> ContractSuite:
    """Read a native GX 1.x suite JSON; fail with file and reason if GX rejects it."""
    data = read_mapping(path)
    try:
        suite = _gx_suite(data)
    except Exception as exc:  # GX raises many types for a malformed suite; report it, don't hide
        raise DeclarationError(f"{path}: not a valid GX 1.x expectation suite: {exc}") from None
    declared = data.get("expectations") or []
    if len(suite.expectations) != len(declared):
        # GX logs an unknown or invalid expectation and drops it: a contract clause must never
        # vanish silently, so name the ones it could not build.
        built = {e.configuration.to_json_dict()["type"] for e in suite.expectations}
        lost = [f"expectations.{i} ({e.get('type')!r})" for i, e in enumerate(declared)
                if e.get("type") not in built]
        raise DeclarationError(f"{path}: not a valid GX 1.x expectation suite: GX could not "
                               f"build {', '.join(lost) or 'some expectations'}; check the "
                               "type and kwargs")
    clauses = []
    seen: set[str] = set()
    for index, expectation in enumerate(suite.expectations):
        config = expectation.configuration.to_json_dict()
        kwargs, meta = config.get("kwargs", {}), config.get("meta") or {}
        name = _check_name(config["type"], kwargs, meta)
        if name in seen:
            name = f"{name}_{index}"
        seen.add(name)
        severity = str(meta.get("severity") or config.get("severity") or "critical")
        description = f"{config['type']}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        clauses.append(Clause(name, config["type"], kwargs.get("column"),
                              severity.lower() == "critical", description, config))
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return ContractSuite(str(data.get("name") or path.stem), path, digest, tuple(clauses), data)


def _gx_suite(data: dict[str, Any]):
    import great_expectations as gx  # imported lazily: GX takes seconds to import

    return gx.ExpectationSuite(**data)


@functools.lru_cache(maxsize=1)
def _batch_definition():
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    source = context.data_sources.add_pandas("governed")
    asset = source.add_dataframe_asset("frame")
    return context, asset.add_batch_definition_whole_dataframe("whole")


_ADDED_SUITES: dict[str, Any] = {}


def _context_suite(suite: ContractSuite):
    """The suite registered once per process in the ephemeral context."""
    context, _ = _batch_definition()
    name = f"{suite.name}-{suite.content_hash[:12]}"
    if name not in _ADDED_SUITES:
        gx_suite = _gx_suite(json.loads(json.dumps(suite.raw)))
        gx_suite.name = name
        _ADDED_SUITES[name] = context.suites.add(gx_suite)
    return _ADDED_SUITES[name]


def _clause_key(expectation_type: str, kwargs: dict[str, Any]) -> str:
    kwargs = {k: v for k, v in kwargs.items() if k != "batch_id"}
    return json.dumps([expectation_type, kwargs], sort_keys=True, default=str)


def validate(suite: ContractSuite, frame: pd.DataFrame) -> list[ClauseResult]:
    """Run every clause of the suite on ``frame``; results in the suite's order."""
    _, batch_definition = _batch_definition()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(_context_suite(suite), result_format="SUMMARY")
    by_key: dict[str, list[Any]] = {}
    for item in result.results:
        config = item.expectation_config
        by_key.setdefault(_clause_key(config.type, dict(config.kwargs)), []).append(item)
    outcomes = []
    for clause in suite.clauses:
        item = by_key[_clause_key(clause.expectation_type, clause.config.get("kwargs", {}))].pop(0)
        details = dict(item.result or {})
        if item.exception_info and item.exception_info.get("raised_exception"):
            message = item.exception_info.get("exception_message", "GX raised an exception")
            details = {"observed_value": f"error: {str(message)[:200]}"}
        outcomes.append(ClauseResult(
            clause=clause,
            success=bool(item.success),
            observed_value=_plain(details.get("observed_value")),
            unexpected_count=details.get("unexpected_count"),
            unexpected_percent=details.get("unexpected_percent"),
            unexpected_sample=[_plain(v) for v in
                               (details.get("partial_unexpected_list") or [])[:_MAX_SAMPLE]],
        ))
    return outcomes


def _plain(value: Any) -> Any:
    """JSON-friendly form of a GX observed value (numpy scalars, NaN, timestamps)."""
    try:
        return json.loads(json.dumps(value, default=str, allow_nan=False))
    except ValueError:
        return None if value != value else str(value)  # NaN
