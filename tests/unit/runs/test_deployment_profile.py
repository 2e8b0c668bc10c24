"""GOVERN_PROFILE picks the deployment's files; the code is the same in every profile."""

from pathlib import Path

import pytest
import yaml

from pipeline import settings
from pipeline.runs.instance import ensure_dagster_home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GOVERN_HOME", str(tmp_path / "home"))
    for name in ("DAGSTER_HOME", "MLFLOW_TRACKING_URI", "GOVERN_MLFLOW_ARTIFACTS", "GOVERN_TABLES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GOVERN_PROFILE", raising=False)
    return tmp_path / "home"


def test_the_default_profile_is_embedded_on_sqlite_files(home):
    # given no profile set; when the instance's home is prepared
    dagster_home = ensure_dagster_home()
    # then it is the embedded profile: no storage section (SQLite), telemetry off, MLflow SQLite
    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    assert settings.profile() == "embedded"
    assert "storage" not in config and config["telemetry"] == {"enabled": False}
    assert settings.mlflow_tracking_uri().startswith("sqlite:///")


def test_the_production_profile_puts_dagster_and_mlflow_on_postgres(home, monkeypatch):
    # given the production profile and its two database URLs
    monkeypatch.setenv("GOVERN_PROFILE", "production")
    monkeypatch.setenv(settings.DAGSTER_PG_URL, "postgresql+psycopg2://u:secret@db:5432/dagster")
    monkeypatch.setenv(settings.MLFLOW_PG_URL, "postgresql+psycopg2://u:secret@db:5432/mlflow")
    # when the instance's home is prepared
    dagster_home = ensure_dagster_home()
    # then its dagster.yaml is the profile's: PostgreSQL from the env var, the queued coordinator
    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    assert dagster_home.name == "dagster-production", "never the embedded profile's home"
    assert config["storage"]["postgres"]["postgres_url"] == {"env": settings.DAGSTER_PG_URL}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_monitoring"]["enabled"] is True
    # and MLflow's stores are on PostgreSQL, its artifacts beside the tables
    assert settings.mlflow_tracking_uri().endswith("@db:5432/mlflow")
    assert settings.mlflow_artifact_root().startswith((home / "tables").as_uri())


def test_the_production_profile_without_its_database_url_says_which_variable_to_set(
    home, monkeypatch
):
    # given the production profile with MLflow's URL but not Dagster's
    monkeypatch.setenv("GOVERN_PROFILE", "production")
    monkeypatch.delenv(settings.DAGSTER_PG_URL, raising=False)
    monkeypatch.setenv(settings.MLFLOW_PG_URL, "postgresql+psycopg2://u@db:5432/mlflow")
    # when the instance's home is prepared, then the error names the variable to set
    with pytest.raises(settings.ProfileError, match=r"\$GOVERN_PG_URL"):
        ensure_dagster_home()


def test_an_unknown_profile_is_refused_with_the_known_ones(home, monkeypatch):
    monkeypatch.setenv("GOVERN_PROFILE", "prod")
    with pytest.raises(settings.ProfileError, match=r"'embedded', 'production'"):
        settings.profile()


def test_an_existing_dagster_yaml_is_kept(home):
    # given an operator's own dagster.yaml in DAGSTER_HOME
    dagster_home = settings.dagster_home()
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    # when the instance's home is prepared, then it is left alone
    ensure_dagster_home()
    assert "enabled: true" in (dagster_home / "dagster.yaml").read_text()


def test_a_database_password_never_reaches_metadata():
    uri = "postgresql+psycopg2://govern:s3cret@db:5432/mlflow"
    assert settings.without_password(uri) == "postgresql+psycopg2://govern:***@db:5432/mlflow"
    assert settings.without_password("sqlite:///x/mlflow.db") == "sqlite:///x/mlflow.db"
