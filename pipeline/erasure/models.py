"""Models and MLflow artifacts: tag what was trained on the subject, scrub rows it logged.

Every registered version of the dataset's model was trained on data that held the subject (the
landing files before this erasure): each gets ``erasure: retrain-required`` and the request id,
so the promotion gate lets the next version replace the champion. The artifacts that hold rows
(a model's input example, in MLflow's JSON and serving forms) lose the subject's feature rows.
"""

import json
import math
from pathlib import Path
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from pipeline.declarations.dataset import ModelSpec
from pipeline.declarations.files import write_text_atomically
from pipeline.training.promotion import ERASURE_REQUESTS_TAG, ERASURE_RETRAIN, ERASURE_TAG

INPUT_EXAMPLES = ("input_example.json", "serving_input_example.json")


def tag_versions(tracking_uri: str, model: str, request_id: str) -> list[str]:
    """Tag every registered version of ``model``; returns ``model@version`` of each."""
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    try:
        versions = client.search_model_versions(f"name = '{model}'")
    except mlflow.exceptions.MlflowException:
        return []
    tagged = []
    for version in sorted(versions, key=lambda v: int(v.version)):
        requests = [r for r in (version.tags or {}).get(ERASURE_REQUESTS_TAG, "").split(",") if r]
        if request_id not in requests:
            requests.append(request_id)
        client.set_model_version_tag(model, version.version, ERASURE_TAG, ERASURE_RETRAIN)
        client.set_model_version_tag(
            model, version.version, ERASURE_REQUESTS_TAG, ",".join(requests)
        )
        tagged.append(f"{model}@{version.version}")
    return tagged


def feature_rows(rows: list[dict[str, Any]], spec: ModelSpec) -> list[list[Any]]:
    """The subject's feature rows as the model saw them (see ``training.model.feature_frame``)."""
    out = []
    for row in rows:
        values: list[Any] = []
        for column in spec.numeric_features:
            value = row.get(column)
            values.append(float("nan") if value is None else float(value))
        values += [
            "missing" if row.get(c) is None else str(row.get(c)) for c in spec.categorical_features
        ]
        out.append(values)
    return out


def _same(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, int | float):
            if not (math.isclose(x, float(y), rel_tol=1e-9) or (math.isnan(x) and math.isnan(y))):
                return False
        elif x != y:
            return False
    return True


def scrub_input_examples(artifact_root: Path, spec: ModelSpec, rows: list[list[Any]]) -> list[str]:
    """Remove the subject's rows from every input example of this model's features under a
    local artifact root; returns the files rewritten."""
    if not rows or not artifact_root.is_dir():
        return []
    rewritten = []
    for name in INPUT_EXAMPLES:
        for path in sorted(artifact_root.rglob(name)):
            if _scrub(path, spec.features, rows):
                rewritten.append(str(path))
    return rewritten


def _scrub(path: Path, features: list[str], rows: list[list[Any]]) -> bool:
    document = json.loads(path.read_text(encoding="utf-8"))
    frame = document.get("dataframe_split", document)
    if not isinstance(frame, dict) or frame.get("columns") != features:
        return False
    kept = [r for r in frame.get("data", []) if not any(_same(s, r) for s in rows)]
    if len(kept) == len(frame.get("data", [])):
        return False
    frame["data"] = kept
    indent = 2 if "dataframe_split" in document else None
    write_text_atomically(path, json.dumps(document, indent=indent))
    return True
