"""The code location: every declared dataset's assets, checks and job, and the resources.

Every job runs its steps in one process (``in_process_executor``), as ``govern run`` does: a
step's work is seconds, while a fresh process per step (Dagster's default multiprocess
executor) spends tens of seconds importing Presidio, spaCy, GX and MLflow again. So a run
launched from the UI costs what the same run costs from the CLI. A deployment that wants steps
spread over machines sets its executor in the run config (e.g. ``dagster-celery``).
"""

from pathlib import Path

import dagster as dg

from assets.factory import build_dataset_definitions
from assets.resources import build_resources
from pipeline import settings
from pipeline.declarations.dataset import load_datasets


def build_definitions(root: Path | None = None) -> dg.Definitions:
    root = root or settings.project_root()
    return dg.Definitions.merge(
        *(build_dataset_definitions(dataset, root) for dataset in load_datasets(root)),
        dg.Definitions(resources=build_resources(), executor=dg.in_process_executor),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
