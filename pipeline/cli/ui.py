"""``govern ui``: the Dagster UI on this code location, bound to 127.0.0.1 (it has no login)."""

import argparse
import os
import sys

from pipeline import settings
from pipeline.cli.common import Commands


def register(commands: Commands) -> None:
    ui = commands.add_parser("ui", help="serve the Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    from pipeline.runs.instance import ensure_dagster_home

    ensure_dagster_home()
    workspace = settings.project_root() / "workspace.yaml"
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(workspace),
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
    ]
    print(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    os.execv(sys.executable, command)
    return 0  # not reached
