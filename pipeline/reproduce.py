"""``govern reproduce``: rebuild a model from its BOM in a scratch location and compare.

First the inputs are compared with what the BOM recorded (source file hashes, policy, contract
and declaration hashes, code commit, lock file, HMAC key fingerprint), then the whole graph is
rebuilt in a throwaway GOVERN_HOME (its own DuckDB, Dagster instance and MLflow store) with the
recorded source files and training parameters, and every asset's data version and every metric
is compared. The result says exactly what differs.
"""

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from pipeline.contracts import load_suite
from pipeline.declarations import load_datasets
from pipeline.errors import GovernError
from pipeline.ingest import file_sha256
from pipeline.policy import file_hash
from pipeline.provenance import git_state, lock_sha256
from pipeline.redaction import key_fingerprint

_SCRATCH_ENV = ("GOVERN_HOME", "GOVERN_WAREHOUSE", "DAGSTER_HOME", "MLFLOW_TRACKING_URI",
                "GOVERN_MLFLOW_ARTIFACTS")


@dataclass(frozen=True)
class Difference:
    what: str
    recorded: str
    now: str


@dataclass
class Reproduction:
    model: str
    version: str
    matches: bool
    input_differences: list[Difference]
    output_differences: list[Difference]
    rebuilt: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _source_path(root: Path, recorded: str) -> Path:
    path = Path(recorded)
    return path if path.is_absolute() else root / path


def compare_inputs(bom: dict[str, Any], root: Path, hmac_key: bytes) -> list[Difference]:
    """What changed since the model was built: data, declarations, code, environment, key."""
    diffs = []
    for source, recorded in bom["sources"].items():
        path = _source_path(root, recorded["path"])
        now = file_sha256(path) if path.is_file() else "missing"
        if now != recorded["sha256"]:
            diffs.append(Difference(f"source file {recorded['path']} ({source})",
                                    recorded["sha256"], now))
    for tag, recorded in bom["declarations"].items():
        _, kind, name, _ = tag.split(".")
        if kind == "policy":
            path = root / "policies" / f"{name}.yaml"
            now = file_hash(path) if path.is_file() else "missing"
        elif kind == "contract":
            path = root / "expectations" / f"{name}.json"
            now = load_suite(path).content_hash if path.is_file() else "missing"
        else:
            path = root / "datasets" / f"{name}.yaml"
            now = file_hash(path) if path.is_file() else "missing"
        if now != recorded:
            diffs.append(Difference(f"{kind} {path.relative_to(root)}", recorded, now))
    code_now = {"requirements_lock_sha256": lock_sha256(root), **git_state(root)}
    for key, recorded in bom["code"].items():
        if key in code_now and code_now[key] != recorded:
            diffs.append(Difference(f"code: {key}", str(recorded), str(code_now[key])))
    fingerprints = {r.get("hmac_key_fingerprint") for r in bom["redaction"].values()}
    now_key = key_fingerprint(hmac_key)
    if fingerprints - {now_key, None}:
        diffs.append(Difference("HMAC key (GOVERN_HMAC_KEY) fingerprint",
                                ", ".join(sorted(f for f in fingerprints if f)), now_key))
    return diffs


@contextlib.contextmanager
def scratch_home() -> Iterator[Path]:
    """A throwaway GOVERN_HOME; the caller's environment is restored afterwards."""
    saved = {name: os.environ.get(name) for name in _SCRATCH_ENV}
    with tempfile.TemporaryDirectory(prefix="govern-reproduce-") as scratch:
        for name in _SCRATCH_ENV:
            os.environ.pop(name, None)
        os.environ["GOVERN_HOME"] = scratch
        try:
            yield Path(scratch)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def rebuild(bom: dict[str, Any], root: Path) -> dict[str, Any]:
    """Run the dataset's job in scratch with the recorded inputs; data versions and metrics."""
    from pipeline.definitions import build_definitions
    from pipeline.runner import run_dataset

    datasets = {d.name: d for d in load_datasets(root)}
    if bom["dataset"] not in datasets:
        raise GovernError(f"dataset {bom['dataset']!r} is no longer declared in datasets/")
    dataset = datasets[bom["dataset"]]
    model = bom["model"]
    paths = {s: _source_path(root, f["path"]) for s, f in bom["sources"].items()}
    training = {"ops": {model["name"]: {"config": {
        "seed": model["seed"], "test_size": model["test_size"], "params": model["params"]}}}}
    with scratch_home():
        instance = dg.DagsterInstance.ephemeral()
        summary = run_dataset(build_definitions(root), dataset, instance, paths,
                              extra_config=training)
        versions = {}
        for key in bom["assets"]:
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            tags = event.asset_materialization.tags if event else {}
            versions[key] = (tags or {}).get("dagster/data_version")
    return {"success": summary.success, "failures": summary.failures,
            "data_versions": versions, "metrics": summary.model.get("metrics", {})}


def compare_outputs(bom: dict[str, Any], rebuilt: dict[str, Any]) -> list[Difference]:
    diffs = [Difference("rebuild failed", "success", "; ".join(rebuilt["failures"]))
             ] if not rebuilt["success"] else []
    for key, facts in bom["assets"].items():
        now = rebuilt["data_versions"].get(key)
        if now != facts["data_version"]:
            diffs.append(Difference(f"data version of {key}", str(facts["data_version"]),
                                    str(now)))
    for metric, value in bom["model"]["metrics"].items():
        now = rebuilt["metrics"].get(metric)
        if now is None or not math.isclose(now, value, rel_tol=1e-9, abs_tol=1e-12):
            diffs.append(Difference(f"metric {metric}", repr(value), repr(now)))
    return diffs


def reproduce(bom: dict[str, Any], root: Path, hmac_key: bytes) -> Reproduction:
    inputs = compare_inputs(bom, root, hmac_key)
    rebuilt = rebuild(bom, root)
    outputs = compare_outputs(bom, rebuilt)
    return Reproduction(bom["model"]["name"], bom["model"]["version"], not outputs, inputs,
                        outputs, rebuilt)
