"""A dataset's declarations loaded together and checked against each other, at load time.

Every source's policy must classify exactly its declared columns, every suite may name only
columns its table will have, ``known_names_from`` must name another source's column, and the
feature SQL must give the model's columns. A mistake fails when the code location loads, naming
the file, the key and the reason, not halfway through a run.
"""

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.contracts.schema import check_model_columns, feature_schema, redacted_schema
from pipeline.contracts.suite import ContractSuite, load_suite
from pipeline.declarations.dataset import DatasetSpec
from pipeline.declarations.files import file_hash
from pipeline.errors import DeclarationError
from pipeline.naming import (
    declaration_hash_key,
    declaration_path,
    policy_path,
    redacted_asset,
    suite_path,
)
from pipeline.privacy.policy import PiiPolicy, load_policy
from pipeline.storage.warehouse import render_feature_sql


@dataclass(frozen=True)
class SourceContracts:
    """One source's policy and the contract on its redacted table."""

    policy: PiiPolicy
    policy_path: Path
    policy_sha256: str
    suite: ContractSuite

    def name_sources(self) -> list[str]:
        """Other sources whose names this source's scans redact (its extra upstreams)."""
        return sorted({other for other, _ in self.policy.names_from_other_sources()})


@dataclass(frozen=True)
class DatasetContracts:
    """Everything the dataset's assets are built from, validated together."""

    dataset: DatasetSpec
    sources: dict[str, SourceContracts]
    features_suite: ContractSuite
    feature_sql: str
    redacted_schemas: dict[str, dict[str, str]]
    feature_columns: dict[str, str]
    # MLflow tag -> sha256 of each declaration file (dataset, policies, contracts).
    hashes: dict[str, str] = field(default_factory=dict)


def _check_known_names(dataset: DatasetSpec, source: str, policy: PiiPolicy, path: Path) -> None:
    for other, column in sorted(policy.names_from_other_sources()):
        if (
            other == source
            or other not in dataset.sources
            or column not in dataset.sources[other].columns
        ):
            raise DeclarationError(
                f"{path}: known_names_from: '{other}.{column}' is not a column of "
                f"another source of dataset {dataset.name!r}"
            )


def _load_source(dataset: DatasetSpec, source: str, root: Path) -> SourceContracts:
    path = policy_path(root, source)
    policy = load_policy(path)
    policy.check_columns(list(dataset.sources[source].columns), str(path))
    suite = load_suite(suite_path(root, source))
    suite.check_columns(policy.output_columns(), redacted_asset(source))
    _check_known_names(dataset, source, policy, path)
    return SourceContracts(policy, path, file_hash(path), suite)


def load_contracts(dataset: DatasetSpec, root: Path) -> DatasetContracts:
    """Load and cross-check the dataset's policies, suites and feature SQL."""
    hashes = {
        declaration_hash_key("dataset", dataset.name): file_hash(
            declaration_path(root, dataset.name)
        )
    }
    sources: dict[str, SourceContracts] = {}
    schemas: dict[str, dict[str, str]] = {}
    for source, spec in dataset.sources.items():
        loaded = _load_source(dataset, source, root)
        sources[source] = loaded
        schemas[source] = redacted_schema(loaded.policy, spec)
        hashes[declaration_hash_key("policy", source)] = loaded.policy_sha256
        hashes[declaration_hash_key("contract", source)] = loaded.suite.content_hash
    features = dataset.features.name
    features_suite = load_suite(suite_path(root, features))
    sql = render_feature_sql(dataset.features.sql, list(dataset.sources))
    columns = feature_schema(dataset, sql, schemas)
    features_suite.check_columns(list(columns), features)
    check_model_columns(dataset, columns)
    hashes[declaration_hash_key("contract", features)] = features_suite.content_hash
    return DatasetContracts(dataset, sources, features_suite, sql, schemas, columns, hashes)
