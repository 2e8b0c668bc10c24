"""Canary: known PII planted in the input must appear nowhere the pipeline writes or reports.

Searched: every redacted and feature table, every Dagster event of the run (metadata, check
evidence, log messages), every MLflow param, tag and artifact, the MLflow database itself, the
OpenLineage events, and the printed summary of `govern run --json`.
"""

import csv
import io
import json
from pathlib import Path

import pytest
from dagster._serdes import serialize_value

from pipeline import settings
from pipeline.cli.app import main
from tests.helpers import mlflow_client, tables

pytestmark = pytest.mark.e2e

CANARY = {
    "full_name": "Zebulon Quackenbush",
    "email": "zebulon.quackenbush@example.org",
    "phone": "+1 415-555-0199",
    "street_address": "77 Canarywharf Lane",
    "card": "4111 1111 1111 1111",
    "ip": "203.0.113.77",
}
NEEDLES = [
    *CANARY.values(),
    "Quackenbush",
    "Zebulon",
    "4111111111111111",
    "4155550199",
    "Canarywharf",
]


def plant_canary(root: Path) -> None:
    customers = root / "data/raw/customers.csv"
    rows = list(csv.reader(io.StringIO(customers.read_text())))
    header = rows[0]
    canary = dict.fromkeys(header, "")
    canary.update(
        {
            "customer_id": "199999",
            "full_name": CANARY["full_name"],
            "email": CANARY["email"],
            "phone": CANARY["phone"],
            "street_address": CANARY["street_address"],
            "city": "Leeds",
            "postcode": "LS1 4AP",
            "country": "GB",
            "date_of_birth": "1970-03-03",
            "signup_date": "2021-04-04",
            "plan": "basic",
            "churned": "1",
            "support_notes": (
                f"ZEBULON QUACKENBUSH rang from {CANARY['phone']} about card "
                f"{CANARY['card']}; confirmed email {CANARY['email']}."
            ),
        }
    )
    colleague = dict(zip(header, rows[1], strict=True))
    colleague["support_notes"] = "Escalated to Zebulon after a call; Quackenbush will reply."
    rows[1] = [colleague[h] for h in header]
    rows.append([canary[h] for h in header])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    customers.write_text(out.getvalue())
    transactions = root / "data/raw/transactions.csv"
    with transactions.open("a") as handle:
        handle.write(f'9999999,199999,2024-05-05,19.99,GBP,"{CANARY["card"]}",{CANARY["ip"]},web\n')


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [needle for needle in NEEDLES if needle.lower() in lowered]


def test_planted_pii_appears_nowhere_downstream(project, capsys):
    # given the sample with a canary customer whose PII is also planted in free text
    plant_canary(project)
    # when the pipeline runs through the CLI, as a user runs it
    exit_code = main(["run", "--dataset", "churn", "--json"])
    printed = capsys.readouterr().out
    summary = json.loads(printed)[0]
    assert exit_code == 0 and summary["success"], summary["failures"]
    assert not leaks(printed), "the run summary leaks PII"
    # then no redacted or feature table holds any canary value
    with tables() as conn:
        raw_hits = conn.execute(
            "SELECT count(*) FROM raw.customers WHERE full_name = ?", [CANARY["full_name"]]
        ).fetchone()[0]
        assert raw_hits == 1, "the canary must have been ingested for this test to mean much"
        shared = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('redacted', 'features')"
        ).fetchall()
        assert len(shared) == 3, shared
        for schema, table in shared:
            dump = conn.execute(f'SELECT * FROM "{schema}"."{table}"').df().to_csv()
            assert not leaks(dump), f"{schema}.{table} leaks {leaks(dump)}"
    # and no Dagster event of the run (metadata, check evidence, logs) holds one
    from pipeline.runs.instance import local_instance

    with local_instance() as instance:
        records = instance.all_logs(summary["run_id"])
        assert records, "the run must be recorded in the Dagster instance"
        for record in records:
            found = leaks(serialize_value(record))
            assert not found, f"Dagster event {record.dagster_event_type} leaks {found}"
    # and no MLflow param, tag, artifact or database row holds one
    client = mlflow_client()
    version = client.get_model_version("churn_model", summary["model"]["version"])
    run = client.get_run(version.run_id)
    assert not leaks(json.dumps([run.data.params, run.data.tags])), "MLflow params/tags leak"
    artifacts = [
        p for p in settings.govern_home().joinpath("mlartifacts").rglob("*") if p.is_file()
    ]
    assert any(p.name == "MLmodel" for p in artifacts), "the model's artifacts must be searched"
    for path in artifacts:
        found = leaks(path.read_bytes().decode("utf-8", errors="replace"))
        assert not found, f"MLflow artifact {path.name} leaks {found}"
    database = settings.govern_home() / "mlflow.db"
    assert not leaks(database.read_bytes().decode("utf-8", errors="replace")), "mlflow.db leaks"
    # and no OpenLineage event (datasets, schemas, column lineage, gate verdicts) holds one
    events = settings.govern_home() / "openlineage" / "events.jsonl"
    assert events.stat().st_size > 0, "the run's OpenLineage events must be searched"
    assert not leaks(events.read_text(encoding="utf-8")), "OpenLineage events leak"
