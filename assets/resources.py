"""Dagster resources. Settings are resolved when a run starts, never at import time.

There is one set of resources for every deployment: a laptop and a production deployment differ
only in environment variables (``GOVERN_HOME``, ``GOVERN_TABLES``, ``MLFLOW_TRACKING_URI``,
``DAGSTER_HOME`` with a PostgreSQL ``dagster.yaml``), so dev and prod cannot drift apart.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
from pydantic import Field

from assets.openlineage import OpenLineageResource
from pipeline import settings
from pipeline.privacy.policy import PiiPolicy
from pipeline.storage.tables import Data, Snapshot, TableStore, split_name

if TYPE_CHECKING:  # Presidio and spaCy load in the steps that redact, not with the definitions
    from pipeline.privacy.redactor import Redactor


class Warehouse(dg.ConfigurableResource):
    """Every table, as a Delta Lake table under one storage root, queried with DuckDB.

    Each asset writes its own tables, so steps and runs need no lock between them: Delta's
    optimistic commits keep each table consistent (``pipeline.storage.tables``).
    """

    root: str | None = Field(
        default=None,
        description="A folder or an object-store URI. Default: $GOVERN_TABLES or "
        "$GOVERN_HOME/tables.",
    )

    def store(self) -> TableStore:
        return TableStore(self.root or settings.tables_root())

    @contextmanager
    def connect(
        self, *tables: str, versions: Mapping[str, int | None] | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection with these tables (``"raw.customers"``) and no
        other, as views over their current Delta versions (or the ``versions`` given; None:
        the current one)."""
        with self.store().connect(tables, versions) as conn:
            yield conn

    def snapshot(self, name: str, version: int | None = None) -> Snapshot:
        """``name`` at ``version`` (default: its latest version)."""
        return self.store().snapshot(*split_name(name), version)

    def publish(
        self, context: dg.AssetExecutionContext, name: str, data: Data
    ) -> dict[str, int | str]:
        """Publish ``data`` as ``name`` in one Delta commit recording the run and asset;
        returns the version and URI for the asset's metadata (prefixed for a quarantine).

        A partitioned asset's run replaces only its own partition's rows."""
        partition = context.partition_key if context.has_partition_key else None
        published = self.store().publish(
            *split_name(name),
            data,
            commit={
                "dagster_run_id": context.run.run_id,
                "dagster_asset": context.asset_key.to_user_string(),
                **({"dagster_partition": partition} if partition is not None else {}),
            },
            partition=partition,
        )
        prefix = "quarantine_" if name.startswith("quarantine.") else ""
        return {
            f"{prefix}table_version": published.version,
            f"{prefix}table_uri": published.uri,
        }


class RedactionResource(dg.ConfigurableResource):
    """Presidio on a locally installed spaCy model, and the HMAC key for ``hash`` columns."""

    hmac_key: str = Field(description="Secret key for keyed hashing ($GOVERN_HMAC_KEY).")
    spacy_model: str | None = Field(
        default=None,
        description="Installed spaCy package, e.g. en_core_web_lg. Default: "
        f"$GOVERN_SPACY_MODEL or {settings.DEFAULT_SPACY_MODEL}.",
    )

    def resolved_spacy_model(self) -> str:
        return self.spacy_model or settings.spacy_model()

    def redactor(self, policy: PiiPolicy) -> "Redactor":
        from pipeline.privacy.redactor import Redactor

        return Redactor(policy, self.hmac_key.encode("utf-8"), self.resolved_spacy_model())


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and registry; default a SQLite store under $GOVERN_HOME."""

    tracking_uri: str | None = Field(
        default=None, description="Default: $MLFLOW_TRACKING_URI or sqlite under $GOVERN_HOME."
    )
    artifact_root: str | None = Field(
        default=None,
        description="Where new experiments keep artifacts; default $GOVERN_HOME/mlartifacts.",
    )
    experiment: str = "governed-pipeline"

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Create a new store's schema under the store's lock (``mlflow.lock`` in the run-time
        folder): the first step to use the store (the drift check, training) may run in a UI
        launch beside a `govern run` doing the same, and MLflow creates its tables on first
        use. Every step that uses MLflow comes through here; nothing else in a run reads it."""
        from pipeline.training.tracking import prepare_store

        prepare_store(self.resolved_tracking_uri(), settings.govern_home() / "mlflow.lock")

    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or settings.mlflow_tracking_uri()

    def resolved_artifact_root(self) -> str:
        return self.artifact_root or settings.mlflow_artifact_root()


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The resources of every deployment; values come from the environment at run time."""
    return {
        "warehouse": Warehouse(),
        "redaction": RedactionResource(hmac_key=dg.EnvVar("GOVERN_HMAC_KEY")),
        "mlflow": MlflowResource(),
        "openlineage": OpenLineageResource(),
    }
