"""Which process a run's tag names, and whether it still runs."""

import subprocess
import sys

from pipeline.runs.recovery import PROCESS_TAG, _alive, process_tags


def test_this_process_is_alive():
    assert _alive(process_tags()[PROCESS_TAG])


def test_a_process_that_ended_is_not():
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    boot, _, _ = process_tags()[PROCESS_TAG].split(":")
    assert not _alive(f"{boot}:{child.stdout.strip()}:1")


def test_a_reused_pid_or_a_restarted_machine_is_not_the_same_process():
    boot, pid, started = process_tags()[PROCESS_TAG].split(":")
    assert not _alive(f"{boot}:{pid}:{int(started) + 1}"), "same pid, started at another time"
    assert not _alive(f"another-boot:{pid}:{started}"), "the machine restarted since"
