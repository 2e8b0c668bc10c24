"""``govern ui``: the Dagster UI on this code location, bound to 127.0.0.1 (it has no login).

``dagster dev`` (webserver and daemon) by default; ``--read-only`` serves the webserver alone
in Dagster's read-only mode, where no run can be launched and no schedule turned on: a way to
show the graph, runs and checks to viewers. ``govern ui`` stays the parent of what it starts
and passes SIGTERM on as the interrupt both shut down cleanly on (``dagster dev`` ignores
SIGTERM), so a service manager or a test can stop it.

Dagster 1.13 marks ``dagster dev`` as superseded by ``dg dev``. That command lives in another
package (``dagster-dg-cli``) and expects a ``dg`` project (``[tool.dg]`` in pyproject.toml, the
definitions found under a ``defs`` folder); it starts the same webserver and daemon. Until the
project takes that layout, ``govern ui`` keeps ``dagster dev`` and hides the warning that
points a user at a command this checkout does not have.
"""

import argparse
import os
import signal
import subprocess
import sys

from pipeline import settings
from pipeline.cli.common import Commands

_DG_DEV_HINT = "ignore:Function `dev_command` is superseded"


def register(commands: Commands) -> None:
    ui = commands.add_parser("ui", help="serve the Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument(
        "--read-only",
        action="store_true",
        help="the webserver alone, in Dagster's read-only mode: viewers cannot launch runs",
    )
    ui.set_defaults(func=cmd_ui)


def workspace_file() -> str:
    """The project's workspace.yaml, or (a declarations folder apart from the code) the code's."""
    workspace = settings.project_root() / "workspace.yaml"
    if not workspace.is_file():
        workspace = settings.PROJECT_ROOT / "workspace.yaml"
    return str(workspace)


def ui_command(port: int, read_only: bool) -> list[str]:
    """What ``govern ui`` runs: ``dagster dev``, or a read-only ``dagster-webserver``."""
    where = ["-w", workspace_file(), "-h", "127.0.0.1", "-p", str(port)]
    if read_only:
        return [sys.executable, "-m", "dagster_webserver", *where, "--read-only"]
    return [sys.executable, "-W", _DG_DEV_HINT, "-m", "dagster", "dev", *where]


def cmd_ui(args: argparse.Namespace) -> int:
    from pipeline.runs.instance import ensure_dagster_home

    ensure_dagster_home()
    mode = " (read-only)" if args.read_only else ""
    print(
        f"Dagster UI{mode} on http://127.0.0.1:{args.port} "
        f"(DAGSTER_HOME={os.environ['DAGSTER_HOME']})",
        flush=True,
    )
    return supervise(ui_command(args.port, args.read_only))


def supervise(command: list[str]) -> int:
    """Run ``command`` as a child, passing SIGTERM on as an interrupt; its exit status.

    A process started in the background by a non-interactive shell (``cmd &``), or by a test
    runner's worker, inherits SIGINT *ignored*: ``dagster dev`` would then never see the
    interrupt and keep running. Our own handler is installed first, so the child starts with
    SIGINT at its default (handlers are reset by exec; only an ignored signal is inherited).
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    child = subprocess.Popen(command)

    def stop(signum: int, frame: object) -> None:
        child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue  # the child got the same Ctrl-C from the terminal: wait for it to finish
