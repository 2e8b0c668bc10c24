"""Names the whole project agrees on: asset keys, tables and where each declaration file lives.

A dataset's sources become ``landing_<source>`` (the file), ``raw_<source>`` and
``redacted_<source>`` assets; each source has a
policy ``policies/<source>.yaml`` and a contract ``expectations/<source>.json``; the feature
table has a contract ``expectations/<features>.json``; the dataset is declared in
``datasets/<dataset>.yaml``. Every module asks here instead of spelling a name out again.
"""

from pathlib import Path

DATASETS_DIR = "datasets"
POLICIES_DIR = "policies"
EXPECTATIONS_DIR = "expectations"


def landing_asset(source: str) -> str:
    """The landing file of ``source``: an external asset, observed by its sha256."""
    return f"landing_{source}"


def raw_asset(source: str) -> str:
    """The ingest asset of ``source`` (also its table name in schema ``raw``)."""
    return f"raw_{source}"


def redacted_asset(source: str) -> str:
    """The redaction asset of ``source`` (also its table name in schema ``redacted``)."""
    return f"redacted_{source}"


def source_assets(sources: list[str]) -> list[str]:
    """Every ingest asset, then every redaction asset: the order the graph runs them."""
    return [*map(raw_asset, sources), *map(redacted_asset, sources)]


def job_name(dataset: str) -> str:
    return f"{dataset}_job"


def declaration_file(dataset: str) -> Path:
    """``datasets/<dataset>.yaml``, relative to the project root."""
    return Path(DATASETS_DIR) / f"{dataset}.yaml"


def policy_file(source: str) -> Path:
    """``policies/<source>.yaml``, relative to the project root."""
    return Path(POLICIES_DIR) / f"{source}.yaml"


def suite_file(asset: str) -> Path:
    """``expectations/<asset>.json`` (a source or a feature table), relative to the root."""
    return Path(EXPECTATIONS_DIR) / f"{asset}.json"


def declaration_path(root: Path, dataset: str) -> Path:
    return root / declaration_file(dataset)


def policy_path(root: Path, source: str) -> Path:
    return root / policy_file(source)


def suite_path(root: Path, asset: str) -> Path:
    return root / suite_file(asset)


def display_path(path: Path, root: Path) -> str:
    """How a file is named in metadata: relative to the project root when inside it (portable),
    else absolute."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


def declaration_hash_key(kind: str, name: str) -> str:
    """The MLflow tag (and BOM key) holding a declaration file's hash, e.g.
    ``govern.policy.customers.sha256``; ``kind`` is dataset, policy or contract."""
    return f"govern.{kind}.{name}.sha256"


def declared_file(kind: str, name: str) -> Path:
    """The file a declaration hash key names (see ``declaration_hash_key``)."""
    files = {"dataset": declaration_file, "policy": policy_file, "contract": suite_file}
    return files[kind](name)
