"""The code location: every declared dataset's assets, checks and job, the resources, and the
executor ``GOVERN_EXECUTOR`` names (the assets are the same whichever runs them).

By default every job runs its steps in one process (``in_process_executor``), as ``govern run``
does: a step's work is seconds, while a fresh process per step (Dagster's multiprocess
executor) spends tens of seconds importing Presidio, spaCy, GX and MLflow again. So a run
launched from the UI costs what the same run costs from the CLI. A deployment that wants steps
spread over processes or machines sets ``GOVERN_EXECUTOR`` (``multiprocess``, ``celery``).
"""

from pathlib import Path

import dagster as dg

from assets.factory import build_dataset_definitions
from assets.recovery import roll_back_failed_run
from assets.resources import build_resources
from pipeline import settings
from pipeline.declarations.dataset import load_datasets
from pipeline.errors import GovernError

EXECUTORS = ("default", "multiprocess", "celery")


def build_executor() -> dg.ExecutorDefinition:
    """The executor chosen by configuration: ``default`` runs every step in the run's process.

    ``celery``: each step is a Celery task on ``GOVERN_CELERY_QUEUE`` at
    ``GOVERN_CELERY_BROKER``, run by whichever worker (``dagster-celery worker start``) takes it;
    workers load this same code location and write to the same Dagster instance.
    """
    name = settings.executor()
    if name not in EXECUTORS:
        raise GovernError(f"GOVERN_EXECUTOR={name!r} is not one of {', '.join(EXECUTORS)}")
    if name == "multiprocess":
        return dg.multiprocess_executor
    if name == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": settings.celery_broker(),
                "config_source": {
                    "task_default_queue": settings.celery_queue(),
                    "worker_prefetch_multiplier": 1,
                },
            },
            name="celery",
        )
    return dg.in_process_executor


def build_definitions(root: Path | None = None) -> dg.Definitions:
    root = root or settings.project_root()
    return dg.Definitions.merge(
        *(build_dataset_definitions(dataset, root) for dataset in load_datasets(root)),
        dg.Definitions(
            resources=build_resources(),
            executor=build_executor(),
            sensors=[roll_back_failed_run],
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
