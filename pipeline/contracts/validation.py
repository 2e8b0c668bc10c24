"""Validation of a frame against a contract suite, in an ephemeral GX context.

Validation runs on the pandas frame read from DuckDB (GX cannot read DuckDB tables directly),
in a context with no files and no network; each suite is registered once per process.
"""

import functools
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.contracts.suite import Clause, ContractSuite, gx_suite

_MAX_SAMPLE = 5


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


@functools.lru_cache(maxsize=1)
def _batch_definition():
    import great_expectations as gx
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch below HASH_THRESHOLD bytes (a shallow count, so a
    # five-million-row table of texts is "small") with pandas' hash of every cell, only to
    # label the batch. At 5M transactions that was 13 s of a 31 s validation, and factorizing
    # each text column for it was the step's memory peak. Nothing here reads the label.
    pandas_execution_engine.HASH_THRESHOLD = 0

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
        built = gx_suite(json.loads(json.dumps(suite.raw)))
        built.name = name
        _ADDED_SUITES[name] = context.suites.add(built)
    return _ADDED_SUITES[name]


def _clause_key(expectation_type: str, kwargs: dict[str, Any]) -> str:
    kwargs = {k: v for k, v in kwargs.items() if k != "batch_id"}
    return json.dumps([expectation_type, kwargs], sort_keys=True, default=str)


def _items(suite: ContractSuite, frame: pd.DataFrame, result_format: Any) -> list[Any]:
    """GX's result for each clause of the suite on ``frame``, in the suite's order."""
    _, batch_definition = _batch_definition()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(_context_suite(suite), result_format=result_format)
    by_key: dict[str, list[Any]] = {}
    for item in result.results:
        config = item.expectation_config
        by_key.setdefault(_clause_key(config.type, dict(config.kwargs)), []).append(item)
    return [
        by_key[_clause_key(clause.expectation_type, clause.config.get("kwargs", {}))].pop(0)
        for clause in suite.clauses
    ]


def validate(suite: ContractSuite, frame: pd.DataFrame) -> list[ClauseResult]:
    """Run every clause of the suite on ``frame``; results in the suite's order."""
    items = _items(suite, frame, "SUMMARY")
    return [_result(clause, item) for clause, item in zip(suite.clauses, items, strict=True)]


def _result(clause: Clause, item: Any) -> ClauseResult:
    details = dict(item.result or {})
    if item.exception_info and item.exception_info.get("raised_exception"):
        message = item.exception_info.get("exception_message", "GX raised an exception")
        details = {"observed_value": f"error: {str(message)[:200]}"}
    return ClauseResult(
        clause=clause,
        success=bool(item.success),
        observed_value=_plain(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        unexpected_sample=[
            _plain(v) for v in (details.get("partial_unexpected_list") or [])[:_MAX_SAMPLE]
        ],
    )


def row_failures(
    suite: ContractSuite, frame: pd.DataFrame, clauses: list[Clause]
) -> tuple[dict[str, pd.Index], list[ClauseResult]]:
    """For each of ``clauses`` (row-level ones), the index of every row of ``frame`` it fails;
    and every clause's result on the whole ``frame`` from the same GX pass (what ``validate``
    gives, so a caller whose frame loses no row need not validate it again).

    GX's ``COMPLETE`` result format lists the pandas index of every unexpected row; a clause GX
    could not evaluate (an exception) fails every row, so nothing unchecked is published.
    """
    wanted = {c.check_name for c in clauses}
    found, results = {}, []
    complete = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
    for clause, item in zip(suite.clauses, _items(suite, frame, complete), strict=True):
        results.append(_result(clause, item))
        if clause.check_name not in wanted:
            continue
        if item.exception_info and item.exception_info.get("raised_exception"):
            found[clause.check_name] = frame.index
        else:
            found[clause.check_name] = pd.Index(
                (item.result or {}).get("unexpected_index_list") or []
            )
    return found, results


def _plain(value: Any) -> Any:
    """JSON-friendly form of a GX observed value (numpy scalars, NaN, timestamps)."""
    try:
        return json.loads(json.dumps(value, default=str, allow_nan=False))
    except ValueError:
        return None if value != value else str(value)  # NaN
