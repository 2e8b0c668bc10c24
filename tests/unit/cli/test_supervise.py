"""`govern ui` and `govern daemon` supervise Dagster's processes: SIGTERM reaches them as an
interrupt, and nothing they started outlives them (a code server left by a daemon stopped
before its first heartbeat ran for hours). Real processes: a supervisor in a process of its
own (it installs signal handlers), its child, and a grandchild deaf to SIGTERM."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import REPO

# A supervisor with a short grace for leftovers; argv[1:] is the child's command.
SUPERVISOR = (
    "import sys; import pipeline.cli.ui as ui; ui.LEFTOVER_GRACE_S = 1.0; "
    "raise SystemExit(ui.supervise(sys.argv[1:]))"
)
# A child that starts a grandchild ignoring SIGTERM (writing its pid to argv[1]), then ends.
LEAVES_A_GRANDCHILD = (
    "import subprocess, sys; "
    "subprocess.Popen([sys.executable, '-c', 'import os, signal, sys, time; "
    "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    'open(sys.argv[1], "w").write(str(os.getpid())); time.sleep(600)\', sys.argv[1]]); '
    "import time; time.sleep(1.5); sys.exit(3)"
)
# A child that ends with status 0 on SIGINT (writing a marker to argv[1]), never on its own.
STOPS_ON_SIGINT = (
    "import signal, sys, time; open(sys.argv[1] + '.ready', 'w').close(); "
    "signal.signal(signal.SIGINT, lambda *a: (open(sys.argv[1], 'w').write('SIGINT'), "
    "sys.exit(0))); time.sleep(600)"
)


def supervise(*child: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, *child],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ", 1)[1].startswith("Z"))


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_what_the_child_leaves_running_is_stopped_when_it_ends(tmp_path: Path):
    # given a supervised child that starts a grandchild deaf to SIGTERM, then ends (status 3)
    pid_file = tmp_path / "grandchild.pid"
    supervisor = supervise(sys.executable, "-c", LEAVES_A_GRANDCHILD, str(pid_file))
    wait_for(pid_file)
    grandchild = int(pid_file.read_text())
    try:
        # when the child has ended
        _, err = supervisor.communicate(timeout=60)
        # then the supervisor returns the child's status, and the grandchild is gone
        assert supervisor.returncode == 3, err[-2000:]
        assert not alive(grandchild), "the grandchild outlived its supervisor"
    finally:
        if alive(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def test_sigterm_reaches_the_child_as_an_interrupt(tmp_path: Path):
    # given a supervised child that stops only on SIGINT
    marker = tmp_path / "child"
    supervisor = supervise(sys.executable, "-c", STOPS_ON_SIGINT, str(marker))
    wait_for(marker.with_name("child.ready"))
    # when the supervisor gets SIGTERM (a service manager stopping it)
    supervisor.send_signal(signal.SIGTERM)
    _, err = supervisor.communicate(timeout=60)
    # then the child got SIGINT and ended cleanly, and so did the supervisor
    assert marker.read_text() == "SIGINT"
    assert supervisor.returncode == 0, err[-2000:]
