"""``govern reproduce``: rebuild a model from its BOM in a scratch location and compare.

First the inputs are compared with what the BOM recorded, then the whole graph is rebuilt in a
throwaway GOVERN_HOME (its own Delta tables, Dagster instance and MLflow store) with the recorded
source files and training parameters, and every asset's data version and every metric is
compared (``pipeline.lineage.reproduction``). The result says exactly what differs.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from pipeline.errors import GovernError
from pipeline.lineage.reproduction import (
    Reproduction,
    compare_inputs,
    compare_outputs,
    source_path,
)
from pipeline.runs.runner import run_dataset

_SCRATCH_ENV = (
    "GOVERN_HOME",
    "GOVERN_TABLES",
    "DAGSTER_HOME",
    "MLFLOW_TRACKING_URI",
    "GOVERN_MLFLOW_ARTIFACTS",
)


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
    datasets = {d.name: d for d in load_datasets(root)}
    if bom["dataset"] not in datasets:
        raise GovernError(f"dataset {bom['dataset']!r} is no longer declared in datasets/")
    dataset = datasets[bom["dataset"]]
    model = bom["model"]
    paths = {s: source_path(root, f["path"]) for s, f in bom["sources"].items()}
    training = {
        "ops": {
            model["name"]: {
                "config": {
                    "seed": model["seed"],
                    "test_size": model["test_size"],
                    "params": model["params"],
                }
            }
        }
    }
    with scratch_home():
        instance = dg.DagsterInstance.ephemeral()
        summary = run_dataset(
            build_definitions(root), dataset, instance, paths, extra_config=training
        )
        versions = {}
        for key in bom["assets"]:
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            tags = event.asset_materialization.tags if event else {}
            versions[key] = (tags or {}).get("dagster/data_version")
    return {
        "success": summary.success,
        "failures": summary.failures,
        "data_versions": versions,
        "metrics": summary.model.get("metrics", {}),
    }


def reproduce(
    bom: dict[str, Any], root: Path, hmac_key: bytes, erasures: list[str] | None = None
) -> Reproduction:
    """Compare inputs, then rebuild and compare outputs. When an erasure changed the sources
    since (``erasures``: its request ids), the rebuild is not attempted: it could not match bit
    for bit, and the verdict says why instead of listing a generic mismatch."""
    inputs = compare_inputs(bom, root, hmac_key)
    if erasures:
        model = bom["model"]
        return Reproduction(model["name"], model["version"], False, inputs, [], {}, erasures)
    rebuilt = rebuild(bom, root)
    outputs = compare_outputs(bom, rebuilt)
    return Reproduction(
        bom["model"]["name"], bom["model"]["version"], not outputs, inputs, outputs, rebuilt
    )
