"""The Dagster UI as a person uses it: `govern ui`, headless Chromium, clicks and pages; and
a run launched from the UI beside two `govern run`, each on its own files.

The browser is the system's Chromium (Debian's `chromium` package, which `make test` installs
when it can), driven by Playwright; no browser is downloaded. Without it the browser tests skip
and say how to install it, or fail where `GOVERN_REQUIRE_SERVICES=1` (CI) says nothing may
skip. Screenshots go to `tests/artifacts/` (git-ignored); the paths are printed. Every test
here shares one `govern ui` (a webserver, a daemon and a code server, each importing the
pipeline: the slow part of starting it).
"""

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli.app import main
from pipeline.runs.instance import local_instance
from tests.helpers import (
    LOCK_ERRORS,
    REPO,
    assert_built_from_own_inputs,
    environment_restored,
    fewer_customers,
    govern_ui,
    graphql,
    lay_out_project,
    materialized_facts,
    point_at,
    start_govern,
    with_negative_amount,
)

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
# What works as root on a machine without a display or a GPU, and keeps the browser off the
# network (no updates, no sync, no QUIC probes).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "tests" / "artifacts"
JOB_PAGE = "/locations/governed_pipeline/jobs/churn_job"
RUN_TIMEOUT_S = 900  # the whole churn job on the small sample, on a machine shared with others
RUN = """
query ($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { runId jobName status } }
}
"""


def require_browser() -> Path:
    """The Chromium these tests drive: skip with the way to install it, or fail under
    ``GOVERN_REQUIRE_SERVICES=1``, where a skipped browser test would pass CI untested."""
    if CHROMIUM.is_file():
        return CHROMIUM
    reason = (
        f"{CHROMIUM} is missing: install Debian's chromium package "
        "(`sudo apt-get install --no-install-recommends chromium`; `make test` does it as root)"
    )
    if os.environ.get("GOVERN_REQUIRE_SERVICES") == "1":
        pytest.fail(f"GOVERN_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def ui_project(tmp_path_factory: pytest.TempPathFactory, small_sample: Path) -> Iterator[Path]:
    """One project for this file's tests, served by one `govern ui` (its start, a webserver,
    a daemon and a code server importing the pipeline, is the slow part): each test launches
    its own run and reads that run's outcome."""
    base = tmp_path_factory.mktemp("ui")
    root = lay_out_project(base / "project", small_sample)
    with pytest.MonkeyPatch.context() as env:
        point_at(env, root, base / "govern-home")
        yield root


@pytest.fixture(scope="module")
def ui(ui_project: Path) -> Iterator[int]:
    """`govern ui` (webserver and daemon) on this file's project, on a free port."""
    # A webserver, a daemon and a code server start, each importing the pipeline: minutes
    # when the machine is busy (the suite runs two workers on two cores).
    with govern_ui(ui_project.parent / "govern-ui.log", timeout=600) as port:
        yield port


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(require_browser()), args=CHROMIUM_ARGS, timeout=120_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, tmp_path: Path):
    """A fresh page (no stored state) with a viewport wide enough for the graph and sidebar."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(120_000)
    yield context.new_page()
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled")  # a dialog shown, not fading in
    print(f"screenshot: {path}")
    return path


def open_job_page(page, port: int) -> None:
    """The churn job's page: its asset graph, and Materialize all, which launches the job
    itself (from the global asset graph Dagster would launch its implicit ``__ASSET_JOB``)."""
    page.goto(f"http://127.0.0.1:{port}{JOB_PAGE}")
    from playwright.sync_api import TimeoutError as NotShown

    # Dagster's newsletter prompt, on a first visit only: the graph below is what counts.
    with contextlib.suppress(NotShown):
        page.get_by_role("button", name="Skip").click(timeout=30_000)
    # The graph is drawn once its first source is. Not every node is awaited: Dagster draws
    # only the nodes inside the viewport, and how it first fits the graph depends on when the
    # page measured itself; in CI the right-hand nodes once started outside it.
    page.get_by_text("raw_customers", exact=True).first.wait_for()
    page.get_by_role("button", name="Materialize all").wait_for()


def launched_run_id(page) -> str:
    """The run id from the toast Dagster shows after a launch ("Launched run 1a2b3c4d")."""
    toast = page.get_by_text("Launched run").first
    toast.wait_for()
    short = toast.inner_text().split()[-1]
    page.get_by_role("link", name="View").first.click()
    page.wait_for_url(f"**/runs/{short}*")
    return page.url.split("/runs/")[1].split("?")[0]


def wait_for_run(port: int, run_id: str) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        run = graphql(port, RUN, {"runId": run_id})["runOrError"]
        if run["status"] in {"SUCCESS", "FAILURE", "CANCELED"}:
            return run
        time.sleep(3)
    raise AssertionError(f"run {run_id} did not finish within {RUN_TIMEOUT_S} s")


def show_run(page, status: str) -> str:
    """The run page once its status, its steps and its event log have loaded; its text."""
    page.reload()
    page.get_by_text(status, exact=True).first.wait_for()
    page.get_by_text("Succeeded (").first.wait_for()
    page.get_by_text("Loading run logs").first.wait_for(state="hidden")
    return page.inner_text("body")


def open_check(page, port: int, asset: str, check: str) -> None:
    """An asset's Checks tab, with one check selected: its status and its evidence."""
    page.goto(f"http://127.0.0.1:{port}/assets/{asset}?view=checks&checkDetail={check}")
    page.get_by_text(check, exact=True).first.wait_for()


def check_history(page, port: int, asset: str, check: str, runs: int) -> dict[str, object]:
    """The selected check's Execution history once it lists ``runs`` executions: each row by
    the id of the run it belongs to (its timestamp links to that run's step)."""
    open_check(page, port, asset, check)
    page.get_by_text("Execution history", exact=True).first.click()
    rows = page.get_by_role("row")
    rows.nth(runs).wait_for()  # the header, then one row per execution
    history = {}
    for row in rows.all()[1:]:
        href = row.locator("a[href*='/runs/']").first.get_attribute("href")
        history[href.split("/runs/")[1].split("?")[0]] = row
    return history


def test_materialize_all_in_the_ui_beside_two_cli_runs_each_run_builds_from_its_own_inputs(
    ui: int, ui_project: Path, page, tmp_path: Path
):
    """A person clicks Materialize all on the churn job while two `govern run` start, each on a
    customers file of its own: three runs publish new versions of the same Delta tables at once,
    and each step reads the version its own run published (looked up in the run's event log),
    never the latest, which may be another run's. Both pairings in one scenario: command line
    beside command line, and the UI beside the command line."""
    # given the UI on the churn job's asset graph, and two customers files of their own for two
    # command-line runs (without the last 150 and the last 250 customers)
    own_file = {
        "ui": ui_project / "data" / "raw" / "customers.csv",
        "cli-1": fewer_customers(ui_project, tmp_path / "fewer-customers.csv"),
        "cli-2": fewer_customers(ui_project, tmp_path / "fewer-still.csv", dropped=250),
    }
    open_job_page(page, ui)
    graph = screenshot(page, "ui-churn-asset-graph")
    # when the person clicks Materialize all, and two `govern run` start at once, each on its
    # own file
    page.get_by_role("button", name="Materialize all").click()
    run = ["run", "--dataset", "churn", "--force", "--json", "--source"]
    cli = {name: start_govern(*run, f"customers={own_file[name]}") for name in ("cli-1", "cli-2")}
    ui_run = launched_run_id(page)
    launched = wait_for_run(ui, ui_run)
    show_run(page, "Success")
    screenshot(page, "ui-churn-run-succeeded")
    # then the UI's run is the dataset's own job, and it succeeded
    assert launched["jobName"] == "churn_job", launched
    assert launched["status"] == "SUCCESS", f"run {ui_run} ended {launched['status']}; see {graph}"
    # and both command-line runs succeeded, with no lock error in any of the three
    outputs = {name: process.communicate(timeout=900) for name, process in cli.items()}
    summaries = {}
    for name, (out, err) in outputs.items():
        assert cli[name].returncode == 0, f"{name}: {err[-3000:]}{out[-2000:]}"
        assert not LOCK_ERRORS.search(err + out), f"{name}: {LOCK_ERRORS.search(err + out)}"
        [summaries[name]] = json.loads(out)
    # and, once all three have ended, the execution history of residual_pii on redacted_customers
    # lists one passed execution per run, the UI's with its evidence. (Not the check's status
    # at the top: Dagster shows there only the latest execution, and only when it belongs to
    # the latest materialization; three runs at once can interleave so that it does not, and
    # the status reads "Not Evaluated" for every check.)
    run_ids = {"ui": ui_run, **{name: s["run_id"] for name, s in summaries.items()}}
    history = check_history(page, ui, "redacted_customers", "residual_pii", runs=3)
    assert set(history) == set(run_ids.values()), f"executions {set(history)}, runs {run_ids}"
    for name, run_id in run_ids.items():
        assert history[run_id].inner_text().startswith("Passed"), f"{name}: not passed"
    history[ui_run].get_by_role("button").last.click()  # its metadata
    page.get_by_text("summary", exact=True).first.wait_for()
    evidence = page.inner_text("body")
    screenshot(page, "ui-redacted-customers-checks")
    assert "residual rate" in evidence, "the residual_pii evidence is not in its history"
    with local_instance() as instance:
        ui_log = "\n".join(record.message for record in instance.all_logs(ui_run))
        assert not LOCK_ERRORS.search(ui_log), f"ui: {LOCK_ERRORS.search(ui_log)}"
        # and each command-line run overlapped both others in time
        records = {name: instance.get_run_record_by_id(r) for name, r in run_ids.items()}
        for name in summaries:
            for other, record in records.items():
                mine = records[name]
                assert other == name or max(mine.start_time, record.start_time) < min(
                    mine.end_time, record.end_time
                ), f"{name} and {other} did not overlap"
        # and each run's tables, model and lineage come from its own file, with no row lost
        facts = {n: {a["asset"]: a["facts"] for a in s["assets"]} for n, s in summaries.items()}
        facts["ui"] = materialized_facts(instance, ui_run)
    for name, run_id in run_ids.items():
        assert_built_from_own_inputs(name, run_id, facts[name], own_file[name])
    versions = {f["churn_model"]["registered_version"] for f in facts.values()}
    assert len(versions) == 3, f"three model versions, one per run: {versions}"


def test_a_run_on_a_file_that_breaks_the_contract_shows_the_blocked_check_and_failed_step(
    ui: int, ui_project: Path, page, tmp_path: Path, capsys: pytest.CaptureFixture
):
    # given a transactions file whose every amount is negative, which the contract forbids
    negative = with_negative_amount(ui_project, tmp_path / "transactions_negative.csv")
    # when `govern run` runs churn on it (in this process: the UI shows every run of its
    # instance, wherever it ran)
    with environment_restored():
        code = main(["run", "--dataset", "churn", "--source", f"transactions={negative}", "--json"])
    out, err = capsys.readouterr()
    [summary] = json.loads(out)
    assert code != 0, f"the run should be blocked: {err[-2000:]}"
    # then the UI's page of that run shows it failed at redacted_transactions, and nothing
    # downstream ran
    page.goto(f"http://127.0.0.1:{ui}/runs/{summary['run_id']}")
    steps = show_run(page, "Failure")
    screenshot(page, "ui-churn-run-blocked")
    assert "Errored (1)" in steps and "redacted_transactions" in steps, (
        "the run page should show one errored step, redacted_transactions"
    )
    # and the asset's checks tab shows the blocking range check on amount failed
    open_check(page, ui, "redacted_transactions", "range__amount")
    page.get_by_text("Failed").first.wait_for()
    screenshot(page, "ui-redacted-transactions-blocked-check")
    assert "unexpected" in page.inner_text("body"), "the failed check shows no evidence"
