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
import contextlib
import os
import signal
import subprocess
import sys
import time

from pipeline import settings
from pipeline.cli.common import Commands

_DG_DEV_HINT = "ignore:Function `dev_command` is superseded"
# How long what a stopped `dagster dev` or `dagster-daemon` left running gets to stop on SIGTERM
# before it is killed.
LEFTOVER_GRACE_S = 10.0


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
    """Run ``command`` as a child in a process group of its own, passing SIGTERM and SIGINT on
    to that group as an interrupt; its exit status. Once it has exited, whatever it started
    and left behind is stopped too (``_stop_leftovers``).

    A process started in the background by a non-interactive shell (``cmd &``), or by a test
    runner's worker, inherits SIGINT *ignored*: ``dagster dev`` would then never see the
    interrupt and keep running. Our own handler is installed first, so the child starts with
    SIGINT at its default (handlers are reset by exec; only an ignored signal is inherited).
    Its own process group, because a code server that ``dagster-daemon`` or ``dagster dev``
    starts outlives them when they stop before its first heartbeat (seen here: a ``dagster api
    grpc`` alive for hours after `govern daemon` was stopped, deaf to SIGTERM): the group is how
    it is found. Ctrl-C in a terminal reaches only our group now, so it is passed on like
    SIGTERM.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    child = subprocess.Popen(command, process_group=0)

    def interrupt(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGINT)

    try:
        signal.signal(signal.SIGTERM, interrupt)
        signal.signal(signal.SIGINT, interrupt)
        return child.wait()
    finally:
        _stop_leftovers(child.pid, LEFTOVER_GRACE_S)


def _stop_leftovers(group: int, grace: float) -> None:
    """SIGTERM what is left in process group ``group``, SIGKILL it after ``grace`` s."""
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
