"""`govern reproduce` by time travel: the recorded Delta versions read back, checked and
retrained on; gone versions named, and those an erasure purged traced to its request.

Real delta-rs tables and a real erasure ledger under ``tmp_path``; a real scikit-learn fit.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.declarations.dataset import ModelSpec
from pipeline.erasure.ledger import Ledger, erasures_of_table
from pipeline.errors import GovernError
from pipeline.lineage.reproduction import TIME_TRAVEL, time_travel
from pipeline.storage.tables import TableStore
from pipeline.storage.warehouse import frame_fingerprint
from pipeline.training.model import train

# A linear model: a fit in milliseconds, as deterministic as the shipped boosted trees.
SPEC = ModelSpec(
    name="m",
    target="y",
    numeric_features=["a"],
    categorical_features=["c"],
    estimator="sklearn.linear_model.LogisticRegression",
)


def features() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    a = rng.normal(size=200)
    return pd.DataFrame(
        {"a": a, "c": np.where(a > 0, "hi", "lo"), "y": (a + rng.normal(size=200) > 0) * 1}
    )


def bom_for(store: TableStore, frame: pd.DataFrame) -> dict:
    """A BOM as training writes it, for a model trained on ``features.f`` at its version 0."""
    published = store.publish("features", "f", frame)
    with store.connect(["features.f"], {"features.f": published.version}) as conn:
        read = conn.execute("SELECT * FROM features.f").df()
    metrics = train(read, SPEC, {}, 42, 0.25).metrics
    facts = {
        "data_version": frame_fingerprint(read),
        "row_count": len(read),
        "table_uri": published.uri,
        "table_version": published.version,
    }
    return {
        "dataset": "d",
        "sources": {},
        "features": facts,
        "assets": {"f": facts},
        "model": {
            "name": "m",
            "version": "1",
            "estimator": SPEC.estimator,
            "target": "y",
            "features": SPEC.features,
            "numeric_features": ["a"],
            "categorical_features": ["c"],
            "params": {},
            "seed": 42,
            "test_size": 0.25,
            "metrics": metrics,
        },
    }


def test_the_recorded_version_is_read_back_and_retrained_on_whatever_the_table_holds_now(
    tmp_path: Path,
):
    # given a model trained on version 0 of its feature table, then a newer version published
    store = TableStore(str(tmp_path / "tables"))
    bom = bom_for(store, features())
    store.publish("features", "f", features().head(50))
    # when it is reproduced by time travel
    result = time_travel(bom, SPEC, [])
    # then version 0 was read, its content and every metric match
    assert result.method == TIME_TRAVEL and result.rebuilt["table_versions"] == {"f": 0}
    assert result.matches, result.output_differences
    # when the recorded version's content differs from what the BOM says (another table
    # written at that place since), then the table and every moved metric are named
    bom["assets"]["f"]["data_version"] = "0" * 32
    bom["model"]["metrics"]["roc_auc"] += 0.01
    mismatch = time_travel(bom, SPEC, [])
    named = [d.what for d in mismatch.output_differences]
    assert not mismatch.matches
    assert named == ["data version of f (table features.f version 0)", "metric roc_auc"], named


def test_a_bom_without_table_versions_says_to_rebuild_instead(tmp_path: Path):
    # given a BOM written before tables were versioned
    bom = bom_for(TableStore(str(tmp_path / "tables")), features())
    bom["assets"]["f"].pop("table_version")  # the same facts as bom["features"]
    # when it is reproduced, then the error says why and what to run
    with pytest.raises(GovernError, match=r"records no Delta table version.*--rebuild"):
        time_travel(bom, SPEC, [])


def test_a_version_purged_by_an_erasure_is_traced_to_its_request(tmp_path: Path):
    # given a ledger whose request purged features.f before its version 5
    ledger = Ledger(tmp_path)
    ledger.append({"event": "started", "request": "E-1", "dataset": "d"})
    table = {"table": "features.f", "version_before": 3, "version_after": 5}
    ledger.append({"event": "completed", "request": "E-1", "dataset": "d", "tables": [table]})
    # when recorded versions are looked up, then those before it are the request's, not later
    assert erasures_of_table(tmp_path, "features.f", 3) == ["E-1"]
    assert erasures_of_table(tmp_path, "features.f", 5) == []
    assert erasures_of_table(tmp_path, "features.g", 3) == []
