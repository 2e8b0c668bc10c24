"""``govern daemon``: Dagster's daemon for this code location, on the profile's instance.

The production profile's ``dagster.yaml`` queues every run launched from the UI, a schedule or
``dagster job launch`` (the QueuedRunCoordinator); the daemon dequeues them within the
concurrency limits, launches each in its own process, runs schedules and sensors, and marks a
run whose process died as failed (run monitoring). ``govern daemon`` is ``dagster-daemon run``
with the workspace and DAGSTER_HOME ``govern`` uses, so both see the same runs.
"""

import argparse
import os
import sys

from pipeline.cli.common import Commands
from pipeline.cli.ui import supervise, workspace_file


def register(commands: Commands) -> None:
    daemon = commands.add_parser(
        "daemon", help="run dagster-daemon (queued runs, schedules, run monitoring)"
    )
    daemon.set_defaults(func=cmd_daemon)


def daemon_command() -> list[str]:
    """What ``govern daemon`` runs: ``dagster-daemon run`` on this code location."""
    return [sys.executable, "-m", "dagster._daemon", "run", "-w", workspace_file()]


def cmd_daemon(args: argparse.Namespace) -> int:
    from pipeline.runs.instance import ensure_dagster_home

    ensure_dagster_home()
    print(f"dagster-daemon on DAGSTER_HOME={os.environ['DAGSTER_HOME']}", flush=True)
    return supervise(daemon_command())
