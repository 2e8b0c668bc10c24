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


def reviews(datasets: list[DatasetSpec], root: Path) -> dict[str, dict[str, str]]:
    """Per source, the columns whose classification still awaits a person's review."""
    found = {}
    for dataset in datasets:
        for source in dataset.sources:
            try:
                found[source] = load_policy(root / "policies" / f"{source}.yaml").to_review()
            except DeclarationError:
                continue
    return found
