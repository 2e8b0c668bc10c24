"""OpenLineage export: each step of a real run emits START, then COMPLETE or FAIL, valid against
the OpenLineage model shipped in openlineage-python (its generated classes; the package ships no
JSON schema files), with datasets, schemas, column lineage and the gates' verdicts."""

import csv
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from tests.helpers import run_churn, with_negative_amount
from tests.openlineage_events import events_file, read_events, schema_errors

pytestmark = pytest.mark.e2e

STEPS = [
    "churn.raw_customers",
    "churn.raw_transactions",
    "churn.redacted_customers",
    "churn.redacted_transactions",
    "churn.customer_features",
    "churn.customer_features.drift",
    "churn.churn_model",
]


def by_job(events: list[dict]) -> dict[str, list[dict]]:
    jobs: dict[str, list[dict]] = {}
    for event in events:
        jobs.setdefault(event["job"]["name"], []).append(event)
    return jobs


def output(event: dict, name_suffix: str) -> dict:
    matches = [o for o in event["outputs"] if o["name"].endswith(name_suffix)]
    assert len(matches) == 1, f"one output ending {name_suffix!r}: {event['outputs']}"
    return matches[0]


def raw_values(project, source: str, columns: list[str]) -> set[str]:
    """Values of PII columns in the raw file (long enough not to match by chance)."""
    with (project / "data" / "raw" / f"{source}.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {row[c].strip() for row in rows for c in columns if len(row[c].strip()) >= 8}


def test_every_event_of_a_run_is_valid_openlineage_and_a_hashed_column_is_masked(
    finished_churn_run,
):
    # given a whole run of the churn dataset on the default (file) transport
    project = finished_churn_run.project
    assert finished_churn_run.summary.success
    # when its events are read back
    events = read_events()
    # then every one is valid against the OpenLineage model, facets included
    for event in events:
        assert schema_errors(event) == [], (event["eventType"], event["job"]["name"])
    # and every step ran as one OpenLineage run: START first, then COMPLETE, one run id
    jobs = by_job(events)
    assert sorted(jobs) == sorted(STEPS)
    for name, step in jobs.items():
        assert [e["eventType"] for e in step] == ["START", "COMPLETE"], name
        assert step[0]["run"]["runId"] == step[1]["run"]["runId"], name
        parent = step[1]["run"]["facets"]["parent"]
        assert parent["job"]["name"] == "churn_job", "the Dagster run is the parent"
    # and redacted_customers reads raw.customers and writes redacted.customers with its schema
    complete = jobs["churn.redacted_customers"][1]
    assert [i["name"].split("/")[-2:] for i in complete["inputs"]] == [["raw", "customers"]]
    redacted = output(complete, "redacted/customers")
    assert redacted["namespace"] == "file"
    schema = [f["name"] for f in redacted["facets"]["schema"]["fields"]]
    assert "customer_id" in schema and "email" not in schema, "dropped columns are not there"
    # and its hashed column's lineage says MASKED, a kept one IDENTITY
    fields = redacted["facets"]["columnLineage"]["fields"]
    hashed = fields["customer_id"]
    assert hashed["transformationType"] == "MASKED"
    assert hashed["inputFields"][0]["field"] == "customer_id"
    assert hashed["inputFields"][0]["transformations"][0]["masking"] is True
    assert fields["plan"]["transformationType"] == "IDENTITY"
    assert fields["plan"]["inputFields"][0]["transformations"][0]["masking"] is False
    # and the gates' verdicts are its assertions: the residual-PII gate and contract clauses
    assertions = {a["name"]: a for a in redacted["facets"]["dataQualityAssertions"]["assertions"]}
    assert assertions["residual_pii"]["success"] is True
    assert assertions["residual_pii"]["severity"] == "error"
    assert len(assertions) > 1, "the contract's clauses are there too"
    assert redacted["outputFacets"]["outputStatistics"]["rowCount"] > 0
    # and the features' column lineage comes from the SQL, back to redacted columns
    features = jobs["churn.customer_features"][1]
    assert "sql" in features["job"]["facets"]
    lineage = output(features, "features/customer_features")["facets"]["columnLineage"]
    sources = {
        (i["name"].split("/")[-1], i["field"])
        for f in lineage["fields"].values()
        for i in f["inputFields"]
    }
    assert ("transactions", "amount") in sources, sources
    # and the drift gate's verdict is an assertion on the table it read
    drift = jobs["churn.customer_features.drift"][1]["inputs"][0]
    assert drift["inputFacets"]["dataQualityAssertions"]["assertions"][0]["name"] == "drift"
    # and no raw PII value is anywhere in the events
    text = events_file().read_text(encoding="utf-8")
    leaked = [v for v in raw_values(project, "customers", ["email", "full_name"]) if v in text]
    assert leaked == [], f"{len(leaked)} raw values in the events"


def test_a_blocked_contract_emits_fail_with_its_assertion_failed(project, instance, tmp_path):
    # given transactions whose every amount breaks the contract, past its row budget
    bad = with_negative_amount(project, tmp_path / "transactions.csv")
    # when the run is blocked at redacted_transactions
    summary = run_churn(project, instance, {"transactions": bad})
    assert not summary.success
    events = read_events()
    jobs = by_job(events)
    # then the blocked step's run ends in FAIL, valid against the spec
    step = jobs["churn.redacted_transactions"]
    assert [e["eventType"] for e in step] == ["START", "FAIL"]
    fail = step[1]
    assert schema_errors(fail) == []
    assert "blocked" in fail["run"]["facets"]["errorMessage"]["message"]
    # and the failed clause is an assertion marked failed on the table it would have written
    assertions = output(fail, "redacted/transactions")["facets"]["dataQualityAssertions"]
    failed = [a for a in assertions["assertions"] if not a["success"]]
    assert failed and all(a["severity"] == "error" for a in failed), assertions
    # and nothing downstream started
    assert "churn.customer_features" not in jobs


class _Collector(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (the standard handler's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "event": json.loads(body)})
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def lineage_server() -> Iterator[tuple[str, list[dict]]]:
    """A tiny OpenLineage endpoint on a real socket, collecting what it is sent."""
    received: list[dict] = []
    handler = type("Handler", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    # The client copies OPENLINEAGE_URL into OPENLINEAGE__TRANSPORT__… variables of the
    # process: drop them, or later tests would send to this closed endpoint.
    for name in [n for n in os.environ if n.startswith("OPENLINEAGE__")]:
        del os.environ[name]


def test_openlineage_url_sends_the_events_over_http_instead_of_the_file(
    project, instance, lineage_server, monkeypatch
):
    # given OPENLINEAGE_URL set, the client's standard way to name an endpoint (Marquez's API)
    url, received = lineage_server
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    # when one asset is materialized
    dataset = next(d for d in load_datasets(project) if d.name == "churn")
    defs = build_definitions(project)
    job = defs.resolve_job_def("churn_job")
    result = job.execute_in_process(
        instance=instance, asset_selection=[dg.AssetKey("raw_customers")], raise_on_error=False
    )
    assert result.success, dataset.name
    # then the endpoint received its START and COMPLETE at the lineage API, valid events
    assert [r["path"] for r in received] == ["/api/v1/lineage"] * 2
    assert [r["event"]["eventType"] for r in received] == ["START", "COMPLETE"]
    for r in received:
        assert schema_errors(r["event"]) == []
    assert received[1]["event"]["job"]["name"] == "churn.raw_customers"
    # and nothing was written to the default file
    assert not events_file().exists()
