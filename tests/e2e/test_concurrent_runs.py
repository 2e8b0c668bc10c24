"""Two `govern run` of one dataset at once, each on its own files: both succeed, and each run's
tables, model and lineage are built from its own inputs only.

They publish new versions of the same Delta tables; each step reads the version its own run
published (looked up in the run's event log), never the latest, which may be the other run's.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, store

pytestmark = pytest.mark.e2e
GOVERN = [sys.executable, "-c", "from pipeline.cli.app import main; raise SystemExit(main())"]
# What a writer that lost a race or waited on a lock would print.
LOCK_ERRORS = re.compile(r"\block(ed)?\b|CommitFailed|ConcurrentTransaction|conflict", re.I)


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*GOVERN, *args],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _facts(summary: dict, asset: str) -> dict:
    return next(a["facts"] for a in summary["assets"] if a["asset"] == asset)


def _lineage(version: str) -> dict:
    done = subprocess.run(
        [*GOVERN, "lineage", f"churn_model@{version}", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_two_concurrent_runs_on_different_files_each_build_from_their_own_inputs(
    project: Path, tmp_path: Path
):
    # given the declared customers file and another one, without its last 150 customers
    declared = project / "data" / "raw" / "customers.csv"
    other = tmp_path / "fewer-customers.csv"
    other.write_text("".join(declared.read_text().splitlines(keepends=True)[:-150]))
    own_file = {"declared": declared, "other": other}
    # when two runs of churn start at once, one on each
    runs = {
        "declared": _start("run", "--dataset", "churn", "--force", "--json"),
        "other": _start(
            "run", "--dataset", "churn", "--force", "--json", "--source", f"customers={other}"
        ),
    }
    outputs = {name: run.communicate(timeout=900) for name, run in runs.items()}
    # then both succeed, with no lock error
    summaries = {}
    for name, (out, err) in outputs.items():
        assert runs[name].returncode == 0, f"{name}: {err[-3000:]}{out[-2000:]}"
        assert not LOCK_ERRORS.search(err + out), f"{name}: {LOCK_ERRORS.search(err + out)}"
        [summaries[name]] = json.loads(out)
    for name, summary in summaries.items():
        raw = _facts(summary, "raw_customers")
        redacted = _facts(summary, "redacted_customers")
        features = _facts(summary, "customer_features")
        # and no row is lost: every line read is loaded or quarantined, at every step
        assert raw["source_sha256"] == _sha256(own_file[name]), f"{name} read its own file"
        assert raw["rows_in"] == raw["rows_loaded"] + raw["rows_rejected"], name
        assert redacted["rows_in"] == raw["rows_loaded"], f"{name}: redacted its own raw table"
        assert redacted["rows_in"] == redacted["rows_published"] + redacted["rows_quarantined"]
        assert features["dagster/row_count"] == redacted["rows_published"], (
            f"{name}: one feature row per customer of its own redacted table"
        )
        # and its model's lineage names only its own file, tables and run
        lineage = _lineage(summary["model"]["version"])
        assert lineage["sources"]["customers"]["sha256"] == _sha256(own_file[name]), name
        for asset, facts in lineage["assets"].items():
            assert facts["dagster_run_id"] == summary["run_id"], f"{name}: {asset} of another run"
        recorded = lineage["assets"]["customer_features"]
        assert recorded["row_count"] == features["dagster/row_count"], name
        # and the feature table's version it names holds exactly that run's rows
        snapshot = store().snapshot("features", "customer_features", recorded["table_version"])
        assert snapshot.dataset.count_rows() == features["dagster/row_count"], name
    assert summaries["declared"]["model"]["version"] != summaries["other"]["model"]["version"]
