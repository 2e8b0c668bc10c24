"""``govern policy check``: every policy valid, and classifying exactly its source's columns."""

from pathlib import Path

from pipeline.declarations import DatasetSpec
from pipeline.errors import DeclarationError, IngestError
from pipeline.ingest import check_readable
from pipeline.policy import load_policy


def check_policies(datasets: list[DatasetSpec], root: Path) -> dict[str, list[str]]:
    """Per source, the problems found (empty when the policy is sound)."""
    problems: dict[str, list[str]] = {}
    for dataset in datasets:
        for source, spec in dataset.sources.items():
            issues: list[str] = []
            path = root / "policies" / f"{source}.yaml"
            try:
                policy = load_policy(path)
                policy.check_columns(list(spec.columns), f"datasets/{dataset.name}.yaml")
            except DeclarationError as exc:
                issues.extend(str(exc).splitlines())
            try:
                check_readable(root / spec.path, spec)
            except IngestError as exc:
                issues.append(f"data: {exc}")
            problems[source] = issues
    return problems
