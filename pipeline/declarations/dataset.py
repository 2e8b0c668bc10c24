"""Dataset declarations: a dataset is declared in ``datasets/<name>.yaml``, not coded.

A declaration names the dataset's sources (file, format, ingest contract), the feature SQL that
joins their redacted tables, and the model to train. The asset factory builds everything else.
"""

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.declarations.files import validate_file
from pipeline.errors import DeclarationError

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
ColumnType = Literal["VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP"]
DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d", "%d %b %Y"]
# A batch's partition key is its file name: letters, digits, dot, dash, underscore only, so it
# is safe in a Delta predicate, a Dagster partition key and a run tag alike.
BATCH_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSla(StrictModel):
    """Freshness and completeness the source promises; each becomes an asset check."""

    max_age_hours: float | None = Field(
        default=None, gt=0, description="The file must have been modified this recently."
    )
    freshness_blocks: bool = Field(default=False, description="A stale file blocks (else warns).")
    min_rows: int | None = Field(default=None, ge=0, description="Rows loaded, at least.")
    max_null_fraction: dict[str, float] = Field(
        default_factory=dict, description="Per column, the largest share of NULLs allowed."
    )


class SourceSpec(StrictModel):
    """One raw file, or a folder of batch files, and its ingest contract (columns and types).

    ``partitioned: by_file``: ``path`` is a folder and each file matching ``files`` is one
    batch, a Dagster partition keyed by the file name. The keys are read from the folder when the
    code location loads (a static partition set, not a dynamic one kept in the instance): the
    folder is the single source of truth, every process loading the code (a Celery worker, the
    UI) sees the same keys without a sensor, and a new batch appears on the next reload, which
    every ``govern`` command does. A daily time window was not chosen: batches are not always
    daily, and a missing day would be a partition without a file.
    """

    path: Path = Field(description="Raw file (or batch folder), relative to the project root.")
    partitioned: Literal["by_file"] | None = Field(
        default=None, description="by_file: path is a folder, each matching file a partition."
    )
    files: str = Field(
        default="*.csv", min_length=1, description="Glob of the batch files in the folder."
    )
    format: Literal["csv", "parquet"] | None = None
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    columns: dict[str, ColumnType] = Field(min_length=1)
    key: str | None = Field(default=None, description="Column that identifies a row.")
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS))
    max_reject_fraction: float = Field(default=0.05, ge=0, le=1)
    sla: SourceSla = Field(default_factory=SourceSla)

    @property
    def file_format(self) -> str:
        suffix = Path(self.files).suffix if self.partitioned else self.path.suffix
        return self.format or ("parquet" if suffix == ".parquet" else "csv")

    def batch_files(self, root: Path) -> dict[str, Path]:
        """The batches of a partitioned source, by partition key (the file name), sorted."""
        folder = root / self.path
        if not self.partitioned or not folder.is_dir():
            return {}
        batches = {p.name: p for p in sorted(folder.glob(self.files)) if p.is_file()}
        for name in batches:
            if not re.match(BATCH_NAME_PATTERN, name):
                raise DeclarationError(
                    f"{folder / name}: a batch file name is its partition key and may hold only "
                    "letters, digits, '.', '-' and '_'; rename the file"
                )
        return batches

    @model_validator(mode="after")
    def _key_is_a_column(self) -> "SourceSpec":
        if self.key is not None and self.key not in self.columns:
            raise ValueError(f"key {self.key!r} is not one of the declared columns")
        for column in self.columns:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", column):
                raise ValueError(f"column name {column!r} must be a plain identifier")
        unknown = [c for c in self.sla.max_null_fraction if c not in self.columns]
        if unknown:
            raise ValueError(f"sla.max_null_fraction names undeclared columns {unknown}")
        return self


class DriftSpec(StrictModel):
    """The drift gate on the feature table: PSI of each feature against the champion's profile.

    The defaults are the usual reading of PSI: below 0.1 stable, above 0.25 a shift to act on.
    """

    warn_psi: float = Field(default=0.1, ge=0, description="Warn when a feature's PSI exceeds it.")
    block_psi: float | None = Field(
        default=0.25,
        ge=0,
        description="Block training when a feature's PSI exceeds it; null: warn only.",
    )

    @model_validator(mode="after")
    def _block_above_warn(self) -> "DriftSpec":
        if self.block_psi is not None and self.block_psi < self.warn_psi:
            raise ValueError("drift.block_psi must be at least drift.warn_psi")
        return self


class FeatureSpec(StrictModel):
    """The feature table: DuckDB SQL over the redacted tables, written as ``{source}``."""

    name: str = Field(pattern=NAME_PATTERN)
    sql: str = Field(min_length=1)
    key: str | None = None
    max_reject_fraction: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of feature rows a row-level contract clause may quarantine.",
    )
    drift: DriftSpec = Field(default_factory=DriftSpec)


class ModelSpec(StrictModel):
    """What to train, on which columns, and the evaluation gate it must pass."""

    name: str = Field(pattern=NAME_PATTERN)
    target: str
    numeric_features: list[str] = Field(default_factory=list)
    categorical_features: list[str] = Field(default_factory=list)
    estimator: str = Field(
        default="sklearn.ensemble.HistGradientBoostingClassifier",
        description="Import path of a scikit-learn classifier.",
    )
    params: dict[str, Any] = Field(default_factory=dict)
    test_size: float = Field(default=0.25, gt=0, lt=1)
    seed: int = 42
    metric: Literal["roc_auc", "accuracy", "f1"] = "roc_auc"
    min_metric: float = Field(default=0.6, description="Evaluation gate: block below this.")
    promotion_tolerance: float = Field(
        default=0.0,
        ge=0,
        description="A new version becomes champion only if its metric beats the champion's "
        "by more than this (a tie never does).",
    )

    @field_validator("estimator")
    @classmethod
    def _sklearn_only(cls, value: str) -> str:
        if not value.startswith("sklearn.") or value.count(".") < 2:
            raise ValueError("must be the import path of a scikit-learn estimator")
        return value

    @model_validator(mode="after")
    def _has_features(self) -> "ModelSpec":
        features = self.numeric_features + self.categorical_features
        if not features:
            raise ValueError("declare at least one numeric or categorical feature")
        if self.target in features:
            raise ValueError(f"target {self.target!r} is also listed as a feature")
        return self

    @property
    def features(self) -> list[str]:
        return self.numeric_features + self.categorical_features


class DatasetSpec(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    sources: dict[str, SourceSpec] = Field(min_length=1)
    features: FeatureSpec
    model: ModelSpec

    @property
    def partitioned_source(self) -> str | None:
        """The source that arrives in batches, if any (at most one: a job has one partition
        set, and every partitioned asset of the dataset shares it)."""
        return next((s for s, spec in self.sources.items() if spec.partitioned), None)

    @model_validator(mode="after")
    def _one_partitioned_source(self) -> "DatasetSpec":
        partitioned = [s for s, spec in self.sources.items() if spec.partitioned]
        if len(partitioned) > 1:
            raise ValueError(
                f"sources {partitioned} are all partitioned; at most one source of a dataset may "
                "arrive in batches (split the dataset, or merge the batch folders)"
            )
        return self

    @model_validator(mode="after")
    def _names_are_valid(self) -> "DatasetSpec":
        for source in self.sources:
            if not re.match(NAME_PATTERN, source):
                raise ValueError(f"source name {source!r} must match {NAME_PATTERN}")
        for source in self.sources:
            if "{" + source + "}" not in self.features.sql:
                raise ValueError(f"features.sql never reads source {source!r} (write {{{source}}})")
        return self


def load_dataset(path: Path) -> DatasetSpec:
    spec = validate_file(DatasetSpec, path)
    if spec.name != path.stem:
        raise DeclarationError(
            f"{path}: name: {spec.name!r} must equal the file name {path.stem!r}"
        )
    return spec


def load_datasets(root: Path) -> list[DatasetSpec]:
    """Every ``datasets/*.yaml`` under ``root``; source and asset names must be unique."""
    specs = [load_dataset(path) for path in sorted((root / "datasets").glob("*.yaml"))]
    seen: dict[str, str] = {}
    for spec in specs:
        names = [*spec.sources, spec.features.name, spec.model.name]
        for name in names:
            if name in seen:
                raise DeclarationError(
                    f"datasets/{spec.name}.yaml: {name!r} is already declared by "
                    f"datasets/{seen[name]}.yaml; source, feature and model names must be unique"
                )
            seen[name] = spec.name
    return specs
