"""`govern ui --read-only`: viewers see the code location but cannot launch a run; SIGTERM
stops `govern ui` and what it started."""

import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import (
    GOVERN,
    REPO,
    free_port,
    graphql,
    stop,
    wait_until_served,
)

pytestmark = pytest.mark.e2e
# The GraphQL mutation the UI's launch sends for churn_job, with no run config.
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


def test_a_read_only_ui_shows_the_jobs_refuses_a_launch_and_stops_on_sigterm(project: Path):
    # given `govern ui --read-only` on a free port
    port = free_port()
    ui = subprocess.Popen(
        [*GOVERN, "ui", "--read-only", "--port", str(port)],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_served(port, ui, timeout=180)
        # when a viewer lists the jobs and then tries to launch one
        jobs = graphql(port, JOBS)["repositoriesOrError"]["nodes"][0]["jobs"]
        launch = graphql(port, LAUNCH)["launchRun"]
        # then the jobs are there, and the launch is refused as unauthorized
        assert "churn_job" in {job["name"] for job in jobs}, jobs
        assert launch["__typename"] == "UnauthorizedError", launch
    finally:
        # and SIGTERM stops govern ui and the webserver it started
        assert stop(ui, timeout=60), "govern ui ignored SIGTERM"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
