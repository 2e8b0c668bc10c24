"""The audit report links both ways: to the MLflow run and model version, and the Dagster run."""

from pipeline.lineage.report import audit_markdown, markdown_to_html


def bom() -> dict:
    """The parts of a BOM the report reads, with ids as MLflow and Dagster write them."""
    return {
        "dataset": "churn",
        "model": {
            "name": "churn_model",
            "version": 4,
            "alias": "champion",
            "promotion_reason": "first version",
            "estimator": "sklearn.linear_model.LogisticRegression",
            "target": "churned",
            "features": ["age_years"],
            "params": {},
            "seed": 7,
            "test_size": 0.25,
            "evaluation_gate": "roc_auc 0.78 >= 0.65",
            "metrics": {"roc_auc": 0.78},
            "mlflow_run_id": "47fa8150c0ffee",
        },
        "dagster": {"run_id": "0d8a0a74-1111-2222-3333-444455556666", "job": "churn_job"},
        "sources": {},
        "redaction": {},
        "contracts": {},
        "assets": {
            "customer_features": {"data_version": "f-dv", "code_version": "f-cv", "row_count": 9}
        },
        "code": {},
        "declarations": {},
    }


def test_the_report_links_the_mlflow_run_the_model_version_and_the_dagster_run(monkeypatch):
    # given UIs served where the settings say
    monkeypatch.setenv("GOVERN_MLFLOW_UI_URL", "https://mlflow.example.org/")
    monkeypatch.setenv("GOVERN_DAGSTER_UI_URL", "https://dagster.example.org")
    # when the report is written
    html = markdown_to_html(audit_markdown(bom()), "churn_model-v4")
    # then each id is a link to its page
    assert 'href="https://mlflow.example.org/#/runs/47fa8150c0ffee"' in html
    assert 'href="https://mlflow.example.org/#/models/churn_model/versions/4"' in html
    assert 'href="https://dagster.example.org/runs/0d8a0a74-1111-2222-3333-444455556666"' in html
