"""The code location loads, and its asset graph matches the committed snapshot."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipeline.definitions import build_definitions, defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_of(definitions: dg.Definitions) -> dict:
    repo = definitions.get_repository_def()
    graph = {}
    for node in sorted(repo.asset_graph.asset_nodes, key=lambda n: n.key):
        key = node.key
        graph[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(
                f"{c.name}{' (blocking)' if repo.asset_graph.get(c).blocking else ''}"
                for c in node.check_keys
            ),
        }
    return graph


def test_definitions_load_with_every_asset_check_resource_and_job():
    # given the template's code location, loaded the way `dagster dev` loads it
    loaded = defs() if callable(defs) else defs
    # when its repository is built
    repo = loaded.get_repository_def()
    # then the churn job, resources and assets are all there
    assert repo.has_job("churn_job"), "the dataset factory should build churn_job"
    assert set(loaded.resources) == {"warehouse", "redaction", "mlflow", "openlineage"}, (
        loaded.resources
    )
    assert repo.asset_graph.get_all_asset_keys(), "no assets were built"


def test_asset_graph_matches_snapshot():
    # given the graph built from the declarations in this checkout
    graph = graph_of(build_definitions())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(graph, indent=2, sort_keys=True) + "\n")
    # then it matches the snapshot (rerun with UPDATE_SNAPSHOTS=1 after a deliberate change)
    expected = json.loads(SNAPSHOT.read_text())
    assert graph == expected, "asset graph changed; review and UPDATE_SNAPSHOTS=1 if intended"


def test_every_redacted_asset_has_a_blocking_residual_pii_gate():
    graph = graph_of(build_definitions())
    for key, node in graph.items():
        if key.startswith("redacted_"):
            assert "residual_pii (blocking)" in node["checks"], f"{key} has no residual gate"


def test_every_job_runs_in_one_process_with_readable_step_names():
    # given the code location, as the UI's run launcher sees it
    repo = build_definitions().get_repository_def()
    for job in repo.get_all_jobs():
        # then each job (the implicit asset job too) runs its steps in-process, as `govern run`
        # does, rather than one process per step that imports everything again
        assert job.executor_def.name == "in_process", (job.name, job.executor_def.name)
        # and no step is named by a hash
        hashed = [n.name for n in job.nodes if n.name.startswith("asset_check_")]
        assert not hashed, f"{job.name} has steps named by a hash: {hashed}"


# What only a step needs: the NER models, the tracking store, the estimators (SciPy too, but
# GX imports it when it checks a suite).
STEP_LIBRARIES = (
    "presidio_analyzer",
    "presidio_anonymizer",
    "spacy",
    "mlflow",
    "sklearn",
    "skops",
    "wordfreq",
)
LOAD_AND_LIST = (
    "import sys\n"
    "from pipeline.definitions import defs\n"
    "defs().get_repository_def()\n"
    "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
)


def test_loading_the_code_location_imports_no_library_only_a_step_needs(tmp_path: Path):
    # given a fresh interpreter, as Dagster's code server, daemon and each run start one, with
    # a run-time folder whose contract cache the first load fills
    home = tmp_path / "govern-home"
    home.mkdir()
    env = {**os.environ, "GOVERN_HOME": str(home)}
    loads = [
        subprocess.run(
            [sys.executable, "-c", LOAD_AND_LIST], env=env, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    # when it loads the code location: then Presidio, spaCy, MLflow and scikit-learn are left
    # for the steps that use them; once the contracts are cached, so are GX and SciPy
    for done in loads:
        assert done.returncode == 0, done.stderr[-3000:]
    first, again = (set(done.stdout.split()) for done in loads)
    assert not first & set(STEP_LIBRARIES), sorted(first & set(STEP_LIBRARIES))
    later = {*STEP_LIBRARIES, "great_expectations", "scipy"}
    assert not again & later, sorted(again & later)
