"""Data contracts: GX 1.x expectation suites (``expectations/<asset>.json``), loaded and checked.

Each expectation becomes one Dagster asset check, so the UI shows exactly which clause failed.
Severity comes from the expectation's ``meta.severity`` (falling back to GX's own ``severity``
field): ``critical`` blocks, anything else warns. The suite's content hash versions the checks.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.declarations.files import read_mapping
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

    def check_columns(self, columns: list[str], asset: str) -> None:
        unknown = sorted(self.columns() - set(columns))
        if unknown:
            raise DeclarationError(
                f"{self.path}: expectations name columns {unknown} that asset {asset!r} does not "
                f"have (it has {sorted(columns)}); fix the suite or the policy/feature SQL"
            )


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
        clauses.append(
            Clause(
                name,
                config["type"],
                kwargs.get("column"),
                severity.lower() == "critical",
                description,
                config,
            )
        )
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return ContractSuite(str(data.get("name") or path.stem), path, digest, tuple(clauses), data)


def gx_suite(data: dict[str, Any]):
    import great_expectations as gx  # imported lazily: GX takes seconds to import

    return gx.ExpectationSuite(**data)
