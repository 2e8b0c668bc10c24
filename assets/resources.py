"""Dagster resources. Settings are resolved when a run starts, never at import time.

There is one set of resources for every deployment: a laptop and a production deployment differ
only in environment variables (``GOVERN_HOME``, ``GOVERN_WAREHOUSE``, ``MLFLOW_TRACKING_URI``,
``DAGSTER_HOME`` with a PostgreSQL ``dagster.yaml``), so dev and prod cannot drift apart.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from pydantic import Field

from pipeline import settings
from pipeline.privacy.policy import PiiPolicy
from pipeline.privacy.redactor import Redactor
from pipeline.storage.warehouse import ensure_schemas


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file all stages read and write (one writer at a time: pool ``duckdb``)."""

    path: str | None = Field(
        default=None, description="Default: $GOVERN_WAREHOUSE or $GOVERN_HOME/warehouse.duckdb."
    )

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.path or str(settings.warehouse_path())
        conn = duckdb.connect(path)
        try:
            ensure_schemas(conn)
            yield conn
        finally:
            conn.close()


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

    def redactor(self, policy: PiiPolicy) -> Redactor:
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
    }
