"""What differs between a model version's BOM and now: its inputs, and a retrain's outputs.

Inputs are the source file hashes, policy, contract and declaration hashes, code commit, lock
file and HMAC key fingerprint the BOM recorded; outputs are every table's content and every
metric. Each difference names what, the recorded value and the value now.

``time_travel`` reads the exact Delta versions the BOM recorded for every upstream table (the
same bytes the model was trained on, whatever the landing files hold today), checks each is
what was recorded (content hash, row count) and retrains on the feature table at its version
with the recorded estimator, seed, split and parameters. A version that can no longer be read
(vacuumed, erased) is reported as gone, with its table and version, never papered over.
"""

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.contracts.suite import load_suite
from pipeline.declarations.dataset import ModelSpec
from pipeline.declarations.files import file_hash
from pipeline.errors import GovernError
from pipeline.ingest.reader import file_sha256
from pipeline.lineage.provenance import code_state
from pipeline.naming import declared_file, raw_asset, redacted_asset
from pipeline.privacy.transforms import key_fingerprint
from pipeline.storage.tables import (
    PARTITION_COLUMN,
    Snapshot,
    VersionGone,
    private_connection,
    recorded_snapshot,
)
from pipeline.storage.warehouse import frame_fingerprint, query_frame
from pipeline.training.model import train

# How a model version was checked: its recorded table versions read back, or a whole rebuild.
TIME_TRAVEL = "time travel"
REBUILD = "rebuild"


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
    # Erasure requests that changed the model's sources since: a rebuild cannot match.
    erasures: list[str] = field(default_factory=list)
    method: str = REBUILD
    # Recorded table versions that can no longer be read (time travel), one dict each.
    gone: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_path(root: Path, recorded: str) -> Path:
    path = Path(recorded)
    return path if path.is_absolute() else root / path


def _declaration_hash(kind: str, path: Path) -> str:
    """A contract is versioned by its parsed content, other declarations by their bytes."""
    if not path.is_file():
        return "missing"
    return load_suite(path).content_hash if kind == "contract" else file_hash(path)


def compare_inputs(bom: dict[str, Any], root: Path, hmac_key: bytes) -> list[Difference]:
    """What changed since the model was built: data, declarations, code, environment, key."""
    diffs = []
    for source, recorded in bom["sources"].items():
        path = source_path(root, recorded["path"])
        now = file_sha256(path) if path.is_file() else "missing"
        if now != recorded["sha256"]:
            diffs.append(
                Difference(f"source file {recorded['path']} ({source})", recorded["sha256"], now)
            )
    for tag, recorded in bom["declarations"].items():
        _, kind, name, _ = tag.split(".")
        relative = declared_file(kind, name)
        now = _declaration_hash(kind, root / relative)
        if now != recorded:
            diffs.append(Difference(f"{kind} {relative}", recorded, now))
    code_now = code_state(root)
    for key, recorded in bom["code"].items():
        if key in code_now and code_now[key] != recorded:
            diffs.append(Difference(f"code: {key}", str(recorded), str(code_now[key])))
    fingerprints = {r.get("hmac_key_fingerprint") for r in bom["redaction"].values()}
    now_key = key_fingerprint(hmac_key)
    if fingerprints - {now_key, None}:
        diffs.append(
            Difference(
                "HMAC key (GOVERN_HMAC_KEY) fingerprint",
                ", ".join(sorted(f for f in fingerprints if f)),
                now_key,
            )
        )
    return diffs


def compare_outputs(bom: dict[str, Any], rebuilt: dict[str, Any]) -> list[Difference]:
    """Data versions and metrics of the rebuild against those recorded."""
    diffs = (
        [Difference("rebuild failed", "success", "; ".join(rebuilt["failures"]))]
        if not rebuilt["success"]
        else []
    )
    for key, facts in bom["assets"].items():
        now = rebuilt["data_versions"].get(key)
        if now != facts["data_version"]:
            diffs.append(Difference(f"data version of {key}", str(facts["data_version"]), str(now)))
    return diffs + compare_metrics(bom, rebuilt["metrics"])


def compare_metrics(bom: dict[str, Any], metrics: dict[str, float]) -> list[Difference]:
    """Every recorded metric against ``metrics``: equal to floating-point noise, or named."""
    diffs = []
    for metric, value in bom["model"]["metrics"].items():
        now = metrics.get(metric)
        if now is None or not math.isclose(now, value, rel_tol=1e-9, abs_tol=1e-12):
            diffs.append(Difference(f"metric {metric}", repr(value), repr(now)))
    return diffs


# -- time travel ---------------------------------------------------------------------------


def recorded_versions(bom: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Each upstream asset's Delta table and the version it published, as the BOM recorded
    them (``table_uri``, ``table_version``); a BOM written before Delta tables has none."""
    return {
        key: (facts["table_uri"], int(facts["table_version"]))
        for key, facts in bom["assets"].items()
        if facts.get("table_uri") and facts.get("table_version") is not None
    }


def read_recorded(
    versions: dict[str, tuple[str, int]],
) -> tuple[dict[str, Snapshot], list[VersionGone]]:
    """Every recorded version that can still be read, and those that cannot."""
    snapshots, gone = {}, []
    for key, (uri, version) in versions.items():
        try:
            snapshots[key] = recorded_snapshot(uri, version)
        except VersionGone as missing:
            gone.append(missing)
    return snapshots, gone


def _frame(snapshot: Snapshot) -> pd.DataFrame:
    """The snapshot's rows, typed as training reads them (``read_table``)."""
    with private_connection() as conn:
        conn.register("_recorded", snapshot.dataset)
        return query_frame(conn, "SELECT * FROM _recorded")


def compare_tables(
    bom: dict[str, Any], snapshots: dict[str, Snapshot], frames: dict[str, pd.DataFrame]
) -> list[Difference]:
    """Each table read back against what was recorded: its row count and, where the data
    version is a hash of the content (redacted and feature tables, not the raw tables, whose
    version is the landing file's), that hash. A partitioned table's recorded facts are one
    batch's, so only its readability is checked."""
    raw = {raw_asset(s) for s in bom["sources"]}
    diffs = []
    for key, snapshot in snapshots.items():
        frame = frames.get(key)
        if frame is None:
            frame = _frame(snapshot)
        if PARTITION_COLUMN in frame.columns:
            continue
        recorded = bom["assets"][key]
        where = f"{key} (table {snapshot.name} version {snapshot.version})"
        if recorded.get("row_count") is not None and recorded["row_count"] != len(frame):
            diffs.append(
                Difference(f"rows of {where}", str(recorded["row_count"]), str(len(frame)))
            )
        if key not in raw and (now := frame_fingerprint(frame)) != recorded["data_version"]:
            diffs.append(Difference(f"data version of {where}", str(recorded["data_version"]), now))
    return diffs


def recorded_model_spec(bom: dict[str, Any], declared: ModelSpec) -> ModelSpec:
    """The model as it was trained: estimator, target and features from the BOM. A BOM that
    predates the numeric/categorical split in it borrows the declaration's, if the declaration
    still names the same features."""
    model = bom["model"]
    numeric, categorical = model.get("numeric_features"), model.get("categorical_features")
    if numeric is None or categorical is None:
        if list(model["features"]) != declared.features:
            raise GovernError(
                f"{model['name']} v{model['version']}: its BOM does not say which features are "
                "numeric and which categorical, and the declaration names other features now; "
                "restore the declaration's features, or check it with `--rebuild`"
            )
        numeric, categorical = declared.numeric_features, declared.categorical_features
    return declared.model_copy(
        update={
            "estimator": model["estimator"],
            "target": model["target"],
            "numeric_features": list(numeric),
            "categorical_features": list(categorical),
        }
    )


def retrain(bom: dict[str, Any], spec: ModelSpec, features: pd.DataFrame) -> dict[str, float]:
    """The recorded estimator, seed, split and parameters, fitted again on ``features``."""
    model = bom["model"]
    result = train(features, spec, model["params"], model["seed"], model["test_size"])
    return result.metrics


def time_travel(bom: dict[str, Any], declared: ModelSpec, inputs: list[Difference]) -> Reproduction:
    """Read every recorded table version, check it, retrain on the feature table's, compare.

    Raises ``GovernError`` for a BOM that recorded no table versions (trained before Delta
    tables): there is nothing to travel to, only ``--rebuild``.
    """
    model = bom["model"]
    versions = recorded_versions(bom)
    features = _features_key(bom)
    if features not in versions:
        raise GovernError(
            f"{model['name']} v{model['version']}: its BOM records no Delta table version for "
            f"its feature table {features} (it was trained before tables were versioned); "
            f"check it with `govern reproduce {model['name']}@{model['version']} --rebuild`"
        )
    snapshots, gone = read_recorded(versions)
    result = Reproduction(
        model["name"], model["version"], False, inputs, [], {}, method=TIME_TRAVEL
    )
    result.rebuilt = {"table_versions": {k: s.version for k, s in snapshots.items()}}
    if gone:
        result.gone = [_gone_record(g, key) for key, g in _gone_by_asset(versions, gone)]
        return result
    frame = _frame(snapshots[features])
    outputs = compare_tables(bom, snapshots, {features: frame})
    metrics = retrain(bom, recorded_model_spec(bom, declared), frame)
    result.rebuilt["metrics"] = metrics
    result.output_differences = outputs + compare_metrics(bom, metrics)
    result.matches = not result.output_differences
    return result


def _features_key(bom: dict[str, Any]) -> str:
    """The feature table's asset key: the upstream asset that is neither raw nor redacted."""
    uri = (bom.get("features") or {}).get("table_uri")
    for key, facts in bom["assets"].items():
        if uri and facts.get("table_uri") == uri:
            return key
    derived = {name for s in bom["sources"] for name in (raw_asset(s), redacted_asset(s))}
    return next((k for k in bom["assets"] if k not in derived), "features")


def _gone_by_asset(
    versions: dict[str, tuple[str, int]], gone: list[VersionGone]
) -> list[tuple[str, VersionGone]]:
    by_uri = {uri: key for key, (uri, _) in versions.items()}
    return [(by_uri[g.uri], g) for g in gone]


def _gone_record(gone: VersionGone, asset: str) -> dict[str, Any]:
    return {
        "asset": asset,
        "table": gone.name,
        "uri": gone.uri,
        "version": gone.version,
        "latest": gone.latest,
        "cause": gone.cause,
    }
