"""``govern reproduce``: check a model version against what its BOM recorded.

First the inputs are compared with what the BOM recorded (what changed since, for the reader).
Then, by default, time travel: every upstream table is read at the exact Delta version the BOM
recorded, checked, and the model retrained on the feature table at its version
(``pipeline.lineage.reproduction.time_travel``). A recorded version that is gone is explained:
by an erasure (the ledger names the request that purged it), or else by a vacuum or a replaced
table.

With ``rebuild_from_files=True`` (``--rebuild``) the whole graph is rebuilt instead, in a
throwaway GOVERN_HOME (its own Delta tables, Dagster instance and MLflow store) from the
recorded landing files and training parameters, and every asset's data version and every metric
is compared: the check that the pipeline itself still makes the model from its files, which
time travel does not make.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg

from pipeline import settings
from pipeline.declarations.dataset import DatasetSpec, load_datasets
from pipeline.definitions import build_definitions
from pipeline.erasure.ledger import erasures_of_table
from pipeline.errors import GovernError
from pipeline.lineage.reproduction import (
    Reproduction,
    compare_inputs,
    compare_outputs,
    source_path,
    time_travel,
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


def declared_dataset(bom: dict[str, Any], root: Path) -> DatasetSpec:
    datasets = {d.name: d for d in load_datasets(root)}
    if bom["dataset"] not in datasets:
        raise GovernError(f"dataset {bom['dataset']!r} is no longer declared in datasets/")
    return datasets[bom["dataset"]]


def rebuild(bom: dict[str, Any], root: Path) -> dict[str, Any]:
    """Run the dataset's job in scratch with the recorded inputs; data versions and metrics."""
    dataset = declared_dataset(bom, root)
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
    bom: dict[str, Any],
    root: Path,
    hmac_key: bytes,
    erasures: list[str] | None = None,
    rebuild_from_files: bool = False,
) -> Reproduction:
    """Compare inputs, then read the recorded table versions and retrain (or, with
    ``rebuild_from_files``, rebuild everything in scratch) and compare outputs.

    When an erasure changed the sources since (``erasures``: its request ids, or the requests
    that purged a recorded version), nothing is retrained: it could not match bit for bit, and
    the verdict says why instead of listing a generic mismatch."""
    inputs = compare_inputs(bom, root, hmac_key)
    model = bom["model"]
    if erasures:
        return Reproduction(model["name"], model["version"], False, inputs, [], {}, erasures)
    if rebuild_from_files:
        rebuilt = rebuild(bom, root)
        outputs = compare_outputs(bom, rebuilt)
        return Reproduction(model["name"], model["version"], not outputs, inputs, outputs, rebuilt)
    result = time_travel(bom, declared_dataset(bom, root).model, inputs)
    purged = _purged_by_erasure(result.gone)
    if purged:
        return Reproduction(model["name"], model["version"], False, inputs, [], {}, purged)
    return result


def _purged_by_erasure(gone: list[dict[str, Any]]) -> list[str]:
    """The erasure requests (from the ledger) that purged any of the ``gone`` versions."""
    home = settings.govern_home()
    found: list[str] = []
    for version in gone:
        for request in erasures_of_table(home, version["table"], version["version"]):
            if request not in found:
                found.append(request)
    return found
