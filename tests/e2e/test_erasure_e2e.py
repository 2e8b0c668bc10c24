"""Right to erasure, end to end: a person planted in both shipped datasets is erased from every
byte the pipeline keeps, every other row stays, and the models trained on them say so."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline import settings
from pipeline.cli.app import main
from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from pipeline.privacy.transforms import hmac_token
from pipeline.runs.runner import run_dataset
from tests.conftest import TEST_KEY
from tests.helpers import mlflow_client, store, table_rows

pytestmark = pytest.mark.e2e

KEY = TEST_KEY.encode()
CUSTOMER = {
    "id": "987654321",
    "name": "Zebulon Quixotewright",
    "email": "zebulon.quixotewright@erasure-example.org",
    "phone": "+1 503 867 2291",
    "street": "77 Quixotewright Lane",
    "card": "4929537188204417",
    "ip": "198.51.100.77",
}
PATIENT = {
    "id": "918273645",
    "mrn": "MRN-9182736",
    "name": "Philomena Vandersnoot",
    "phone": "+1 503 867 2292",
    "insurance": "INS-ZQ-918273",
    "encounters": ("918273646", "918273647"),
}


def plant(root: Path) -> None:
    """Append the customer (with three orders) and the patient (with two encounters)."""
    c = CUSTOMER
    _append(
        root / "data/raw/customers.csv",
        f"{c['id']},{c['name']},{c['email']},{c['phone']},{c['street']},Leeds,LS1 4AP,GB,"
        '1984-03-02,2023-05-01,basic,"Unhappy with late delivery, asked to cancel.",1',
    )
    for n, amount in enumerate(("19.99", "45.10", "12.00"), start=1):
        _append(
            root / "data/raw/transactions.csv",
            f"98765432{n},{c['id']},2026-0{n}-11,{amount},GBP,{c['card']},{c['ip']},web",
        )
    p = PATIENT
    _append(
        root / "data/raw/readmission/patients.csv",
        f"{p['id']},{p['mrn']},{p['name']},1950-07-01,F,97201,{p['phone']},{p['insurance']},English",
    )
    for encounter in p["encounters"]:
        _append(
            root / "data/raw/readmission/encounters.csv",
            f"{encounter},{p['id']},2023-02-01,2023-02-05,orthopedics,M17.11,4,9,1,"
            f'Dr. Luis Sánchez,"{p["name"]} seen on rounds. Elective R TKA, uncomplicated.",0',
        )


def _append(path: Path, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + ("" if text.endswith("\n") else "\n") + line + "\n", encoding="utf-8")


def needles(who: str = "both") -> dict[str, bytes]:
    """Every value of the subjects (``customer``, ``patient`` or both), raw and as the keyed
    tokens the redacted tables hold."""
    c, p = CUSTOMER, PATIENT
    customer = {f"customer {k}": v for k, v in c.items()}
    customer |= {f"token of customer {v}": hmac_token(KEY, v) for v in (c["id"], c["ip"])}
    customer["digits of customer phone"] = "".join(ch for ch in c["phone"] if ch.isdigit())
    patient = {f"patient {k}": v for k, v in p.items() if k != "encounters"}
    patient |= {f"encounter {e}": e for e in p["encounters"]}
    tokens = (p["id"], p["mrn"], *p["encounters"])
    patient |= {f"token of patient {v}": hmac_token(KEY, v) for v in tokens}
    patient["digits of patient phone"] = "".join(ch for ch in p["phone"] if ch.isdigit())
    chosen = {"customer": customer, "patient": patient, "both": customer | patient}[who]
    return {label: value.encode() for label, value in chosen.items()}


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]


def byte_hits(folders: list[Path]) -> list[str]:
    """Every (value, file) where a value's bytes appear in a file, binary files included."""
    found, wanted = [], needles()
    for path in files_under(*folders):
        data = path.read_bytes()
        found += [f"{label} in {path}" for label, value in wanted.items() if value in data]
    return found


def decoded_hits(folder: Path) -> list[str]:
    """Every value found in a decoded cell of any Parquet file left (pages may be compressed or
    dictionary-encoded: a byte search alone would prove nothing)."""
    found, wanted = [], {k: v.decode() for k, v in needles().items()}
    for path in folder.rglob("*.parquet"):
        table = pq.read_table(path)
        cells = [str(v) for column in table.columns for v in column.to_pylist() if v is not None]
        found += [
            f"{label} in {path}"
            for label, value in wanted.items()
            if any(value in cell for cell in cells)
        ]
    return found


def run(root: Path, instance, name: str, only_stale: bool = False):
    dataset = next(d for d in load_datasets(root) if d.name == name)
    return run_dataset(build_definitions(root), dataset, instance, only_stale=only_stale)


def table_counts() -> dict[str, int | None]:
    return {name: table_rows(name) for name in store().published()}


def landing_rows(root: Path) -> dict[str, int]:
    files = (
        "customers.csv",
        "transactions.csv",
        "readmission/patients.csv",
        "readmission/encounters.csv",
    )
    return {f: len((root / "data/raw" / f).read_text().splitlines()) for f in files}


def stage(table: str) -> str:
    """A table and its quarantine are one stage: a row is in one or the other (the planted
    patient, say, may be quarantined by a row-level gate)."""
    schema, name = table.split(".")
    if schema != "quarantine":
        return table
    if name.startswith("redacted_"):
        return f"redacted.{name.removeprefix('redacted_')}"
    return f"features.{name}" if name.endswith("_features") else f"raw.{name}"


# The subject's rows in each stage: one customer with three orders, one patient with two
# encounters (the feature tables: one row per customer, one per encounter).
EXPECTED_ROWS = {
    "raw.customers": 1,
    "raw.transactions": 3,
    "redacted.customers": 1,
    "redacted.transactions": 3,
    "features.customer_features": 1,
    "raw.patients": 1,
    "raw.encounters": 2,
    "redacted.patients": 1,
    "redacted.encounters": 2,
    "features.readmission_features": 2,
}


def test_an_erased_subject_is_in_no_byte_kept_and_every_other_row_stays(project, instance, capsys):
    # given a customer and a patient with distinctive values, and both datasets run on them
    plant(project)
    assert run(project, instance, "churn").success
    assert run(project, instance, "readmission").success
    home = settings.govern_home()
    assert byte_hits([home / "tables", project / "data"]), "the values were there before"
    tables_before, landing_before = table_counts(), landing_rows(project)
    # when each subject is erased from its dataset
    capsys.readouterr()
    assert (
        main(
            [
                "erase",
                "--dataset",
                "churn",
                "--subject",
                f"customer_id={CUSTOMER['id']}",
                "--reason",
                "GDPR Art. 17 request 1",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "erase",
                "--dataset",
                "readmission",
                "--subject",
                f"patient_id={PATIENT['id']}",
                "--reason",
                "HIPAA request 2",
            ]
        )
        == 0
    )
    printed = capsys.readouterr()
    # then no value is in any byte under GOVERN_HOME, the landing files or the artifacts
    assert byte_hits([home, project / "data"]) == []
    # and none in any decoded cell of any Parquet file still on disk
    assert decoded_hits(home) == []
    # and the commands printed the kinds searched, never a value
    assert "none found in table raw.customers" in printed.out, printed.out
    assert not any(v in (printed.out + printed.err).encode() for v in needles().values())
    # and every other row is still there: each count differs by exactly the subject's rows
    tables_after = table_counts()
    deltas: dict[str, int] = {}
    for name, before in tables_before.items():
        deltas[stage(name)] = deltas.get(stage(name), 0) + before - tables_after[name]
    assert {k: v for k, v in deltas.items() if v} == EXPECTED_ROWS
    landing_after = landing_rows(project)
    assert {f: landing_before[f] - landing_after[f] for f in landing_before} == {
        "customers.csv": 1,
        "transactions.csv": 3,
        "readmission/patients.csv": 1,
        "readmission/encounters.csv": 2,
    }
    # and the version before the erasure cannot be read back
    with pytest.raises(Exception, match="cannot be read"):
        store().snapshot("raw", "customers", version=0)
    # and the champions trained on them are tagged for retraining
    client = mlflow_client()
    for model in ("churn_model", "readmission_model"):
        tags = client.get_model_version(model, "1").tags
        assert tags["erasure"] == "retrain-required", (model, tags)
        assert tags["erasure.requests"].startswith("E-"), tags
    # when the pipeline runs again, only what is stale
    summary = run(project, instance, "churn", only_stale=True)
    # then the model is retrained, and the new version replaces the tagged champion
    assert summary.success and summary.model.get("version") == "2", summary.model
    champion = client.get_model_version_by_alias("churn_model", "champion")
    assert str(champion.version) == "2"
    assert "erasure" in champion.tags["govern.promotion.reason"], champion.tags
    # and the old version's lineage names the erasure
    capsys.readouterr()
    assert main(["lineage", "churn_model@1"]) == 0
    assert "trained on data later changed by erasure E-" in capsys.readouterr().out
    # and reproducing it gives the erasure verdict, with its own exit code
    assert main(["reproduce", "churn_model@1"]) == 3
    out = capsys.readouterr().out
    assert "not reproducible bit for bit: sources changed by erasure E-" in out, out
    # and the audit report lists the erasure events
    assert main(["report", "churn_model@2"]) == 0
    report = (settings.reports_dir() / "churn_model-v2.md").read_text()
    assert "## Erasure events" in report and "GDPR Art. 17 request 1" in report
    # and asking again for an erased subject says it is not found, unless that is allowed
    assert main(["erase", "--dataset", "churn", "--subject", f"customer_id={CUSTOMER['id']}"]) == 4
    assert (
        main(
            [
                "erase",
                "--dataset",
                "churn",
                "--subject",
                f"customer_id={CUSTOMER['id']}",
                "--allow-missing",
            ]
        )
        == 0
    )


def test_an_erasure_killed_half_way_is_completed_by_a_rerun(project, instance, monkeypatch):
    # given the churn dataset run with a planted customer
    plant(project)
    assert run(project, instance, "churn").success
    before = table_counts()
    # when the erasure dies after erasing its first two tables (the process is killed there)
    import pipeline.erasure.service as service

    real, calls = service.erase_match, []

    def dies_on_the_third_table(*args, **kwargs):
        calls.append(args[1].table)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "erase_match", dies_on_the_third_table)
    subject = ["erase", "--dataset", "churn", "--subject", f"customer_id={CUSTOMER['id']}"]
    with pytest.raises(KeyboardInterrupt):
        main(subject)
    monkeypatch.setattr(service, "erase_match", real)
    # then the ledger holds the request as started only
    from pipeline.erasure.ledger import Ledger

    (request,) = Ledger(settings.govern_home()).requests().values()
    assert request["status"] == "started", request
    # when the same erasure is run again, it resumes that request and completes it
    assert main(subject) == 0
    (request,) = Ledger(settings.govern_home()).requests().values()
    assert request["status"] == "verified" and "completed_at" in request, request
    # and no value of the customer is left, and exactly the customer's rows went
    home, wanted = settings.govern_home(), needles("customer")
    leftover = [
        f"{label} in {path}"
        for path in files_under(home, project / "data")
        for label, value in wanted.items()
        if value in path.read_bytes()
    ]
    assert leftover == []
    after = table_counts()
    deltas = {stage(n): 0 for n in before}
    for name, count in before.items():
        deltas[stage(name)] += count - after[name]
    assert {k: v for k, v in deltas.items() if v} == {
        k: v for k, v in EXPECTED_ROWS.items() if "customer" in k or "transaction" in k
    }


def test_a_batch_of_requests_erases_the_known_subjects_and_reports_the_unknown(
    project, tmp_path, capsys
):
    # given a file of two subjects: a customer in the landing file, and one nobody knows
    plant(project)
    requests = tmp_path / "requests.txt"
    requests.write_text(f"# GDPR batch\ncustomer_id={CUSTOMER['id']}\ncustomer_id=1\n")
    landing_before = landing_rows(project)
    # when the batch is erased (no run yet: only the landing files hold anyone)
    status = main(["erase", "--dataset", "churn", "--requests", str(requests)])
    out, err = capsys.readouterr()
    # then the unknown subject is reported with its line, and the exit code says so
    assert status == 4, (out, err)
    assert f"{requests}:3: subject customer_id=<value> was not found" in err, err
    # and the known one is erased from both landing files, and nothing else
    landing_after = landing_rows(project)
    assert landing_before["customers.csv"] - landing_after["customers.csv"] == 1
    assert landing_before["transactions.csv"] - landing_after["transactions.csv"] == 3
    assert "none found in landing file of customers" in out, out
    # and the ledger records it as verified, and `--verify` searches again and finds nothing
    from pipeline.erasure.ledger import Ledger

    ((request_id, request),) = Ledger(settings.govern_home()).requests().items()
    assert request["status"] == "verified", request
    assert main(["erase", "--verify", request_id]) == 0
    assert "none found in landing file of transactions" in capsys.readouterr().out
