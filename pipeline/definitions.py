"""The code location: every declared dataset's assets, checks and job, and the resources."""

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
        dg.Definitions(resources=build_resources()),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
