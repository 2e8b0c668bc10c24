"""Fork it for a new dataset: declare one from files never seen, run it, get a model."""

import csv
import random
from pathlib import Path

import pytest

from pipeline.cli.app import main
from pipeline.declarations.dataset import load_datasets
from pipeline.definitions import build_definitions
from pipeline.errors import DeclarationError
from pipeline.privacy.policy import load_policy
from tests.helpers import mlflow_client

pytestmark = pytest.mark.e2e
FIRST = ["Anna", "Ben", "Carla", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Inès", "Kemi"]
LAST = ["Novak", "Okafor", "Peters", "Quinn", "Rossi", "Sato", "Tanaka", "Varga", "Weber"]


def write_loans(folder: Path, rows: int = 500) -> tuple[Path, Path]:
    """Two files of a dataset unlike the template's: loan applications and repayments."""
    rng = random.Random(11)
    folder.mkdir(parents=True, exist_ok=True)
    applications, repayments = folder / "applications.csv", folder / "repayments.csv"
    with applications.open("w", newline="") as a, repayments.open("w", newline="") as r:
        apps, pays = csv.writer(a, lineterminator="\n"), csv.writer(r, lineterminator="\n")
        apps.writerow(
            [
                "application_id",
                "applicant_name",
                "email",
                "income",
                "loan_amount",
                "purpose",
                "officer_notes",
                "defaulted",
            ]
        )
        pays.writerow(["payment_id", "application_id", "days_late", "amount_paid"])
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            income, loan = rng.randint(18, 160) * 1000, rng.randint(2, 60) * 1000
            purpose = rng.choice(["car", "home", "education", "business"])
            late = [rng.randint(0, 30) for _ in range(rng.randint(0, 6))]
            risk = loan / income + (0.3 if purpose == "business" else 0) + sum(late) / 200
            notes = rng.choice(
                [
                    f"Met {first} {last} at the branch.",
                    "Documents complete.",
                    f"Call {first} back on +1 415-555-01{rng.randint(10, 99)}.",
                    f"{first.upper()} {last.upper()} asked about repayment.",
                    "",
                ]
            )
            apps.writerow(
                [
                    100000 + i,
                    f"{first} {last}",
                    f"{first.lower()}.{last.lower()}@example.com",
                    income,
                    loan,
                    purpose,
                    notes,
                    int(rng.random() < min(0.9, risk * 0.5)),
                ]
            )
            for n, days in enumerate(late):
                pays.writerow([i * 10 + n, 100000 + i, days, round(loan / 12, 2)])
    return applications, repayments


def test_a_new_dataset_is_declared_run_and_registered_without_editing_a_file(
    project, tmp_path, capsys
):
    # given two CSV files the template has never seen
    applications, repayments = write_loans(tmp_path / "incoming")
    # when a dataset is declared from them
    assert (
        main(
            [
                "new-dataset",
                "loans",
                "--source",
                str(applications),
                "--source",
                str(repayments),
                "--target",
                "defaulted",
            ]
        )
        == 0
    )
    # then every column is classified, PII by name and content, and the data was copied
    policy = load_policy(project / "policies/applications.yaml")
    actions = {c: r.action for c, r in policy.columns.items()}
    assert actions["applicant_name"] == "drop" and actions["email"] == "drop", actions
    assert actions["officer_notes"] == "scan" and actions["application_id"] == "hash", actions
    assert actions["income"] == "keep" and actions["defaulted"] == "keep", actions
    assert (project / "data/raw/loans/repayments.csv").is_file()
    assert main(["policy", "check"]) == 0
    # and `govern run --dataset loans` works as is, through to a registered model
    capsys.readouterr()
    assert main(["run", "--dataset", "loans", "--json"]) == 0, capsys.readouterr().out
    versions = mlflow_client().search_model_versions("name='loans_model'")
    assert versions, "the new dataset's model must be registered"
    # and it is its own asset group beside the template's
    groups = build_definitions(project).get_repository_def().asset_graph.all_group_names
    assert {"churn", "loans"} <= set(groups), groups


def test_new_dataset_refuses_a_target_it_cannot_train_on(project, tmp_path, capsys):
    applications, _ = write_loans(tmp_path / "incoming", rows=50)
    assert main(["new-dataset", "loans", "--source", str(applications), "--target", "income"]) == 2
    assert "must be binary 0/1" in capsys.readouterr().err
    assert not (project / "datasets/loans.yaml").exists(), "nothing half-written"


def test_a_bad_declaration_fails_at_load_with_file_key_and_reason(project, edit_file):
    edit_file(project / "datasets/churn.yaml", "test_size: 0.25", "test_size: 1.5")
    with pytest.raises(DeclarationError) as raised:
        load_datasets(project)
    assert "datasets/churn.yaml: model.test_size: Input should be less than 1" in str(
        raised.value
    ), str(raised.value)
