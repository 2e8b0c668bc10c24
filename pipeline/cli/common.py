"""What every command shares: exit codes, quiet libraries, the HMAC key, ``--source`` parsing."""

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import dotenv

from pipeline import settings
from pipeline.errors import GovernError

EXIT_BLOCKED = 1
EXIT_USAGE = 2

Commands = argparse._SubParsersAction  # what ``add_subparsers`` returns


def parse_sources(values: list[str]) -> dict[str, Path]:
    """``NAME=PATH`` pairs as a mapping; a clear error for anything else."""
    sources = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise GovernError(f"--source expects NAME=PATH, got {value!r}")
        sources[name] = Path(path)
    return sources


def quiet_libraries() -> None:
    warnings.filterwarnings("ignore")
    for name in (
        "mlflow",
        "great_expectations",
        "presidio-analyzer",
        "presidio-anonymizer",
        "alembic",
        "dagster",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)


def load_env_file() -> Path | None:
    """``.env`` in the project root, read the way ``dagster dev`` reads it: each ``KEY=VALUE``
    not already in the environment is set; a variable set in the environment always wins."""
    path = settings.project_root() / ".env"
    if not path.is_file():
        return None
    dotenv.load_dotenv(path, override=False)
    return path


def hmac_key() -> bytes:
    """The key for ``hash`` columns, from ``GOVERN_HMAC_KEY``; warns on the public dev key."""
    key = os.environ.get("GOVERN_HMAC_KEY")
    if not key:
        raise GovernError(
            "GOVERN_HMAC_KEY is not set: it keys the HMAC tokens of 'hash' columns. Set it "
            "to a secret in the environment or in .env in the project root (make setup writes "
            "one with the public development key)."
        )
    if key == settings.DEV_HMAC_KEY:
        print(
            "warning: GOVERN_HMAC_KEY is the public development key; tokens are not "
            "secret. Set your own key before running on real data.",
            file=sys.stderr,
        )
    return key.encode("utf-8")


def load_bom(reference: str) -> dict[str, Any]:
    """The BOM of ``MODEL[@VERSION|@ALIAS]`` from the configured MLflow store."""
    from pipeline.training.tracking import load_bom as load

    return load(settings.mlflow_tracking_uri(), reference)
