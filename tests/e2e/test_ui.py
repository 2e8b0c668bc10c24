"""`govern ui --read-only`: viewers see the code location but cannot launch a run; SIGTERM
stops `govern ui` and what it started."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.e2e
GOVERN = [sys.executable, "-c", "from pipeline.cli.app import main; raise SystemExit(main())"]
LAUNCH = """
mutation {
  launchRun(executionParams: {
    selector: {repositoryLocationName: "governed_pipeline", repositoryName: "__repository__",
               jobName: "churn_job"},
    runConfigData: "{}"
  }) { __typename ... on UnauthorizedError { message } }
}
"""
JOBS = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _wait_until_served(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"govern ui exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the UI did not answer on port {port} within {timeout} s")


def test_a_read_only_ui_shows_the_jobs_refuses_a_launch_and_stops_on_sigterm(project: Path):
    # given `govern ui --read-only` on a free port
    port = _free_port()
    ui = subprocess.Popen(
        [*GOVERN, "ui", "--read-only", "--port", str(port)],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_served(port, ui, timeout=180)
        # when a viewer lists the jobs and then tries to launch one
        jobs = _graphql(port, JOBS)["data"]["repositoriesOrError"]["nodes"][0]["jobs"]
        launch = _graphql(port, LAUNCH)["data"]["launchRun"]
        # then the jobs are there, and the launch is refused as unauthorized
        assert "churn_job" in {job["name"] for job in jobs}, jobs
        assert launch["__typename"] == "UnauthorizedError", launch
    finally:
        # and SIGTERM stops govern ui and the webserver it started
        ui.send_signal(signal.SIGTERM)
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            ui.kill()
            raise AssertionError("govern ui ignored SIGTERM") from None
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
