"""``govern policy check``: every policy valid, and classifying exactly its source's columns."""

from pathlib import Path

from pipeline.declarations.dataset import DatasetSpec
from pipeline.errors import DeclarationError, IngestError
from pipeline.ingest.reader import check_readable
from pipeline.naming import declaration_file, policy_path
from pipeline.privacy.policy import load_policy


def check_policies(datasets: list[DatasetSpec], root: Path) -> dict[str, list[str]]:
    """Per source, the problems found (empty when the policy is sound)."""
    problems: dict[str, list[str]] = {}
    for dataset in datasets:
        for source, spec in dataset.sources.items():
            issues: list[str] = []
            try:
                policy = load_policy(policy_path(root, source))
                policy.check_columns(list(spec.columns), str(declaration_file(dataset.name)))
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
                found[source] = load_policy(policy_path(root, source)).to_review()
            except DeclarationError:
                continue
    return found
