"""OpenLineage run events for each step: what it read, what it wrote, how columns were derived.

Plain builders over names, types, counts and verdicts (never a cell value), turned into the
``openlineage-python`` client's own event and facet classes; the Dagster wiring
(``assets/openlineage.py``) gathers the facts and emits.

Naming (the OpenLineage dataset naming conventions): a Delta table or landing file on a local
disk is namespace ``file``, name its absolute path; on an object store, namespace
``<scheme>://<bucket>``, name the path in the bucket. A registered model is namespace
``mlflow``, name ``<tracking URI>#models/<model>``. Jobs are ``<dataset>.<asset>`` (a check:
``<dataset>.<asset>.<check>``) in the code location's namespace; each step's run names the
Dagster run as its parent.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    sql_job,
)

from pipeline.privacy.policy import PiiPolicy

# Who wrote the events: this project's Dagster wiring (a URI, as the spec asks).
PRODUCER = "urn:governed-pipeline:dagster"
DEFAULT_JOB_NAMESPACE = "governed_pipeline"
MODEL_NAMESPACE = "mlflow"


@dataclass(frozen=True)
class DatasetRef:
    namespace: str
    name: str


@dataclass(frozen=True)
class ColumnTransformation:
    """How an output column was derived from its inputs (the spec's transformation types)."""

    type: str
    subtype: str
    description: str
    masking: bool = False


IDENTITY = ColumnTransformation("DIRECT", "IDENTITY", "copied unchanged")
FEATURE_SQL = ColumnTransformation(
    "DIRECT", "TRANSFORMATION", "computed by the dataset's feature SQL (traced with sqlglot)"
)


@dataclass(frozen=True)
class GateAssertion:
    """One gate's verdict: a blocking (``error``) or warning check, with its summary."""

    name: str
    success: bool
    blocking: bool
    summary: str = ""
    actual: str | None = None


@dataclass
class OutputFacts:
    """What a step wrote to one dataset; unknown parts stay None (a START knows only names)."""

    ref: DatasetRef
    columns: Sequence[tuple[str, str]] | None = None
    lineage: Mapping[str, Sequence[tuple[DatasetRef, str]]] | None = None
    transformations: Mapping[str, ColumnTransformation] = field(default_factory=dict)
    default_transformation: ColumnTransformation = IDENTITY
    rows: int | None = None
    version: str | None = None
    assertions: Sequence[GateAssertion] = ()


@dataclass
class InputFacts:
    ref: DatasetRef
    assertions: Sequence[GateAssertion] = ()


@dataclass(frozen=True)
class StepJob:
    """The step as an OpenLineage job, and the orchestrator's run it belongs to."""

    namespace: str
    name: str
    job_type: str
    parent_job: str
    parent_run_id: str
    engine_version: str
    sql: str | None = None


def dataset_for_uri(uri: str) -> DatasetRef:
    """A table folder or file, local or on an object store, named as the spec asks."""
    if "://" not in uri or uri.startswith("file://"):
        path = Path(uri.removeprefix("file://")).resolve()
        return DatasetRef("file", str(path))
    parts = urlsplit(uri)
    return DatasetRef(f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/"))


def model_dataset(tracking_uri: str, model: str) -> DatasetRef:
    return DatasetRef(MODEL_NAMESPACE, f"{tracking_uri}#models/{model}")


def redaction_transformations(policy: PiiPolicy) -> dict[str, ColumnTransformation]:
    """Each kept column of a policy: copied (``keep``) or masked (every other action)."""
    result = {}
    for column, rule in policy.columns.items():
        if rule.action == "drop":
            continue
        if rule.action == "keep":
            result[column] = IDENTITY
        else:
            result[column] = ColumnTransformation(
                "DIRECT", "TRANSFORMATION", f"redacted: {rule.action}", masking=True
            )
    return result


def _schema(columns: Sequence[tuple[str, str]]) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=name, type=type_, ordinal_position=i)
            for i, (name, type_) in enumerate(columns, start=1)
        ]
    )


def _field(
    inputs: Sequence[tuple[DatasetRef, str]], how: ColumnTransformation
) -> column_lineage_dataset.Fields:
    transformation = column_lineage_dataset.Transformation(
        type=how.type, subtype=how.subtype, description=how.description, masking=how.masking
    )
    return column_lineage_dataset.Fields(
        inputFields=[
            column_lineage_dataset.InputField(
                namespace=ref.namespace,
                name=ref.name,
                field=column,
                transformations=[transformation],
            )
            for ref, column in inputs
        ],
        transformationDescription=how.description,
        # The field-level type the spec still carries: MASKED means no original data survives.
        transformationType="MASKED" if how.masking else how.subtype,
    )


def _column_lineage(facts: OutputFacts) -> column_lineage_dataset.ColumnLineageDatasetFacet:
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            column: _field(inputs, facts.transformations.get(column, facts.default_transformation))
            for column, inputs in (facts.lineage or {}).items()
            if inputs
        }
    )


def _assertions(
    assertions: Iterable[GateAssertion],
) -> data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet:
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(
                assertion=a.name,
                success=a.success,
                name=a.name,
                severity="error" if a.blocking else "warn",
                description=a.summary or None,
                actual=a.actual,
            )
            for a in assertions
        ]
    )


def _output(facts: OutputFacts) -> OutputDataset:
    facets: dict = {}
    if facts.columns is not None:
        facets["schema"] = _schema(facts.columns)
    if facts.lineage:
        facets["columnLineage"] = _column_lineage(facts)
    if facts.version is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(facts.version)
    if facts.assertions:
        # The gates audit the staged output before it is published: their verdicts describe it.
        facets["dataQualityAssertions"] = _assertions(facts.assertions)
    output_facets = {}
    if facts.rows is not None:
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=facts.rows)
        )
    return OutputDataset(
        facts.ref.namespace, facts.ref.name, facets=facets, outputFacets=output_facets
    )


def _input(facts: InputFacts) -> InputDataset:
    input_facets = (
        {"dataQualityAssertions": _assertions(facts.assertions)} if facts.assertions else {}
    )
    return InputDataset(facts.ref.namespace, facts.ref.name, inputFacets=input_facets)


def _job(step: StepJob) -> Job:
    facets: dict = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="DAGSTER", jobType=step.job_type
        )
    }
    if step.sql:
        facets["sql"] = sql_job.SQLJobFacet(query=step.sql, dialect="duckdb")
    return Job(namespace=step.namespace, name=step.name, facets=facets)


def _run_facets(step: StepJob, error: str | None) -> dict:
    facets: dict = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=step.parent_run_id),
            job=parent_run.Job(namespace=step.namespace, name=step.parent_job),
        ),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=step.engine_version, name="Dagster"
        ),
    }
    if error is not None:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="PYTHON"
        )
    return facets


def run_event(
    state: RunState,
    step: StepJob,
    run_id: str,
    inputs: Sequence[InputFacts],
    outputs: Sequence[OutputFacts],
    error: str | None = None,
) -> RunEvent:
    """One START, COMPLETE or FAIL event of a step's run."""
    return RunEvent(
        eventType=state,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=run_id, facets=_run_facets(step, error)),
        job=_job(step),
        producer=PRODUCER,
        inputs=[_input(i) for i in inputs],
        outputs=[_output(o) for o in outputs],
    )
