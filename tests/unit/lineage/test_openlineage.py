"""OpenLineage naming and column transformations, from the plain builders."""

import json

import pytest
from openlineage.client.event_v2 import RunState
from openlineage.client.serde import Serde

from pipeline.lineage.openlineage import (
    DatasetRef,
    GateAssertion,
    InputFacts,
    OutputFacts,
    StepJob,
    dataset_for_uri,
    model_dataset,
    redaction_transformations,
    run_event,
)
from pipeline.privacy.policy import load_policy
from tests.helpers import REPO
from tests.openlineage_events import schema_errors


def test_a_local_table_is_named_by_its_absolute_path_in_the_file_namespace(tmp_path):
    # given a Delta table folder on a local disk, as a path and as a file URI
    folder = tmp_path / "tables" / "published" / "redacted" / "customers"
    # when it is named
    # then both forms give the spec's local file naming
    assert dataset_for_uri(str(folder)) == DatasetRef("file", str(folder))
    assert dataset_for_uri(folder.as_uri()) == DatasetRef("file", str(folder))


def test_an_object_store_table_is_named_by_bucket_and_key():
    # given a table on S3
    # when it is named
    ref = dataset_for_uri("s3://lake/govern/published/redacted/customers")
    # then the bucket is the namespace and the key the name
    assert ref == DatasetRef("s3://lake", "govern/published/redacted/customers")


def test_every_policy_action_but_keep_is_a_masking_transformation():
    # given the template's customers policy
    policy = load_policy(REPO / "policies" / "customers.yaml")
    # when its column transformations are derived
    transformations = redaction_transformations(policy)
    # then dropped columns have none, kept ones are identities, every other action masks
    for column, rule in policy.columns.items():
        if rule.action == "drop":
            assert column not in transformations, column
        else:
            assert transformations[column].masking is (rule.action != "keep"), column


def _fail_event() -> dict:
    """A step's FAIL event, serialized as the transports send it: its blocking gate failed."""
    table = DatasetRef("file", "/data/published/redacted/customers")
    step = StepJob(
        "governed_pipeline", "churn.redacted_customers", "ASSET", "churn_job",
        "0199a000-0000-7000-8000-000000000000", "1.13.27",
    )  # fmt: skip
    outputs = [
        OutputFacts(
            table,
            columns=[("customer_id", "object")],
            lineage={"customer_id": [(DatasetRef("file", "/data/raw/customers"), "customer_id")]},
            transformations=redaction_transformations(
                load_policy(REPO / "policies" / "customers.yaml")
            ),
            assertions=[GateAssertion("residual_pii", False, True, "over budget")],
            rows=3,
        )
    ]
    event = run_event(
        RunState.FAIL,
        step,
        "0199a000-0000-7000-8000-000000000001",
        [InputFacts(DatasetRef("file", "/data/raw/customers"))],
        outputs,
        error="gate 'residual_pii' blocked",
    )
    return json.loads(Serde.to_json(event))


def test_a_fail_event_with_a_failed_assertion_is_valid_openlineage():
    # given a step whose blocking gate failed
    # when the FAIL event is built and serialized
    data = _fail_event()
    # then it is valid against the OpenLineage model, says MASKED, and carries the failed assertion
    assert schema_errors(data) == []
    facets = data["outputs"][0]["facets"]
    assert facets["columnLineage"]["fields"]["customer_id"]["transformationType"] == "MASKED"
    assert facets["dataQualityAssertions"]["assertions"][0]["success"] is False
    assert model_dataset("sqlite:///m.db", "churn_model").namespace == "mlflow"


def _lineage(event: dict) -> dict:
    return event["outputs"][0]["facets"]["columnLineage"]["fields"]["customer_id"]


def _drop_run_id(event: dict) -> None:
    del event["run"]["runId"]


def _drop_facet_producer(event: dict) -> None:
    del event["job"]["facets"]["jobType"]["_producer"]


def _set(path: str, value: object):
    """A change setting the value at a dotted path of the event (list items by index)."""

    def change(event: dict) -> None:
        *parents, last = path.split(".")
        target = event
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value

    return change


def _unknown_transformation(event: dict) -> None:
    _lineage(event)["inputFields"][0]["transformations"][0]["type"] = "OBFUSCATED"


def _run_facet_on_the_job(event: dict) -> None:
    event["job"]["facets"]["errorMessage"] = event["run"]["facets"]["errorMessage"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (_drop_run_id, "event.run.runId: required by Run, missing"),
        (_drop_facet_producer, "event.job.facets.jobType._producer: required"),
        (_set("eventType", "FINISHED"), "event.eventType: 'FINISHED' is not one of"),
        (_set("eventTime", "yesterday"), "event: RunEvent rejects it"),
        (_set("eventTime", "2026-11-27"), "has to contain time"),
        (_set("eventTime", "2026-11-27T10:00:00"), "event.eventTime: '2026-11-27T10:00:00' has no"),
        (_set("run.runId", "run-42"), "event.run: Run rejects it"),
        (_set("run.runId", 42), "event.run.runId: expected str, got int"),
        (_set("run.runId", "0199a000000070008000000000000001"), "is not a hyphenated UUID"),
        (
            _set("run.facets.parent.run.runId", "not-a-uuid"),
            "event.run.facets.parent.run: Run rejects it",
        ),
        (
            _set("run.facets.errorMessage._schemaURL", "https://example.com/Nope.json"),
            "event.run.facets.errorMessage: no facet class of the OpenLineage model",
        ),
        (_set("job.facets.jobType.owner", "ops"), "event.job.facets.jobType.owner: not a field"),
        (_set("outputs.0.outputFacets.outputStatistics.rowCount", "3"), "expected int, got str"),
        (_set("outputs.0.facets.dataQualityAssertions.assertions.0.success", 0), "expected bool"),
        (_unknown_transformation, "'OBFUSCATED' is not one of ['DIRECT', 'INDIRECT']"),
        (_run_facet_on_the_job, "ErrorMessageRunFacet is not a JobFacet"),
        (_set("schemaURL", "https://example.com/Event.json"), "no event class"),
    ],
)
def test_an_event_that_breaks_the_openlineage_model_is_reported(change, said):
    # given a valid FAIL event
    event = _fail_event()
    assert schema_errors(event) == []
    # when one thing in it is broken
    change(event)
    # then the validator says what and where
    errors = schema_errors(event)
    assert any(said in error for error in errors), errors
