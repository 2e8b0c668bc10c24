"""Several processes opening the instance of one new DAGSTER_HOME at once."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, point_at

# Imports first, then waits for the go file, then opens the instance and lists its runs.
OPEN_AT_GO = """
import sys, time
from pathlib import Path
from pipeline.runs.instance import local_instance
go = Path(sys.argv[1])
Path(sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.005)
with local_instance() as instance:
    print(len(instance.get_runs()))
"""


def test_processes_opening_a_new_home_at_once_all_get_the_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # given a project whose DAGSTER_HOME does not exist yet
    point_at(monkeypatch, tmp_path / "project", tmp_path / "home")
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(4)]
    # when four processes, imports done, open it at the same moment
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_GO, str(go), str(flag)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + 300
    while not all(flag.exists() for flag in ready):
        assert time.monotonic() < deadline, "the processes did not get ready"
        time.sleep(0.05)
    go.touch()
    results = [process.communicate(timeout=300) for process in processes]
    # then every one of them opened it (none lost the race to create its databases)
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err[-2000:]
        assert out.strip() == "0", out
