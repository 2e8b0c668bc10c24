"""Several processes opening the instance of one new DAGSTER_HOME at once."""

from pathlib import Path

import pytest

from tests.helpers import point_at, run_at_once

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
    # when four processes, imports done, open it at the same moment
    results = run_at_once(OPEN_AT_GO, tmp_path)
    # then every one of them opened it (none lost the race to create its databases)
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip() == "0", result.stdout
