"""OpenLineage export: every asset step (and the drift check) emits START before its work and
COMPLETE or FAIL after it, through the ``openlineage-python`` client's own transports.

The events are built from what the step already tells Dagster (its materialization's column
schema, column lineage, row count and table version, its check results), so the two views cannot
disagree; ``pipeline.lineage.openlineage`` turns those facts into events. Names, types, counts
and gate summaries only: no cell value reaches an event.
"""

import functools
import inspect
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunState
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.noop import NoopConfig, NoopTransport
from openlineage.client.uuid import generate_new_uuid
from pydantic import Field

from assets.evidence import metadata_value
from pipeline import settings
from pipeline.lineage.openlineage import (
    DEFAULT_JOB_NAMESPACE,
    IDENTITY,
    ColumnTransformation,
    DatasetRef,
    GateAssertion,
    InputFacts,
    OutputFacts,
    StepJob,
    dataset_for_uri,
    run_event,
)

# A step's datasets, from the keyword arguments Dagster calls it with (resources, config):
# asset key (or any label) -> dataset.
Datasets = Callable[[Mapping[str, Any]], Mapping[str, DatasetRef]]


class OpenLineageResource(dg.ConfigurableResource):
    """Where OpenLineage events go. The client's standard configuration wins when present
    (``OPENLINEAGE_URL``, ``OPENLINEAGE_CONFIG`` or an ``openlineage.yml``, ``OPENLINEAGE__…``
    variables, ``OPENLINEAGE_DISABLED``); otherwise one JSON line per event is appended to
    ``$GOVERN_HOME/openlineage/events.jsonl``."""

    namespace: str | None = Field(
        default=None,
        description=f"Job namespace. Default: $OPENLINEAGE_NAMESPACE or {DEFAULT_JOB_NAMESPACE}.",
    )
    events_file: str | None = Field(
        default=None,
        description="The default file transport's file. Default: "
        "$GOVERN_HOME/openlineage/events.jsonl.",
    )

    def job_namespace(self) -> str:
        return self.namespace or os.environ.get("OPENLINEAGE_NAMESPACE", DEFAULT_JOB_NAMESPACE)

    def default_events_file(self) -> Path:
        return Path(self.events_file or settings.govern_home() / "openlineage" / "events.jsonl")

    def client(self) -> OpenLineageClient:
        # A probe with a placeholder transport reads the standard configuration without the
        # client's "no transport configured" warning.
        probe = OpenLineageClient(transport=NoopTransport(NoopConfig()))
        configured = (probe.config.transport or {}).get("type") or any(
            os.environ.get(v) for v in ("OPENLINEAGE_URL", "OPENLINEAGE_DISABLED")
        )
        if configured:
            return OpenLineageClient()
        path = self.default_events_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Appends one line per write, so parallel steps do not overwrite each other's events.
        return OpenLineageClient(
            transport=FileTransport(FileConfig(log_file_path=str(path), append=True))
        )


def tables(names: Mapping[str, str]) -> Datasets:
    """Datasets of Delta tables (``{"raw_customers": "raw.customers"}``), located by the
    warehouse resource."""

    def locate(call: Mapping[str, Any]) -> dict[str, DatasetRef]:
        store = call["warehouse"].store()
        return {
            key: dataset_for_uri(store.uri(*table.split(".", 1))) for key, table in names.items()
        }

    return locate


def both(*parts: Datasets) -> Datasets:
    return lambda call: {k: v for part in parts for k, v in part(call).items()}


def _assertion(result: dg.AssetCheckResult, default_name: str) -> GateAssertion:
    summary = metadata_value(result.metadata.get("summary"))
    unexpected = metadata_value(result.metadata.get("unexpected_count"))
    return GateAssertion(
        name=result.check_name or default_name,
        success=bool(result.passed),
        blocking=result.severity == dg.AssetCheckSeverity.ERROR,
        summary=str(summary) if summary is not None else "",
        actual=f"{unexpected} unexpected" if unexpected is not None else None,
    )


class _StepRecord:
    """What a step yielded so far: its check results and materialization."""

    def __init__(self) -> None:
        self.checks: list[dg.AssetCheckResult] = []
        self.materialized: dict[str, Any] | None = None

    def note(self, item: Any) -> None:
        if isinstance(item, dg.AssetCheckResult):
            self.checks.append(item)
        elif isinstance(item, dg.MaterializeResult):
            self.materialized = dict(item.metadata or {})


def _columns(metadata: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    schema = metadata_value(metadata.get("dagster/column_schema"))
    if not isinstance(schema, dg.TableSchema):
        return None
    return [(c.name, c.type) for c in schema.columns]


def _lineage(
    metadata: Mapping[str, Any], inputs: Mapping[str, DatasetRef]
) -> dict[str, list[tuple[DatasetRef, str]]] | None:
    lineage = metadata_value(metadata.get("dagster/column_lineage"))
    if not isinstance(lineage, dg.TableColumnLineage):
        return None
    return {
        column: [
            (inputs[dep.asset_key.to_user_string()], dep.column_name)
            for dep in deps
            if dep.asset_key.to_user_string() in inputs
        ]
        for column, deps in lineage.deps_by_column.items()
    }


def _version(metadata: Mapping[str, Any]) -> str | None:
    version = metadata_value(metadata.get("table_version"))
    return None if version is None else str(version)


class _Emission:
    """One step's OpenLineage run: the job, its datasets, and the facts gathered."""

    def __init__(
        self,
        context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
        resource: OpenLineageResource,
        job_name: str,
        call: Mapping[str, Any],
        spec: "LineageSpec",
    ) -> None:
        self.client = resource.client()
        self.log = context.log
        self.spec = spec
        self.run_id = str(generate_new_uuid())
        self.inputs = spec.inputs(call)
        self.outputs = spec.outputs(call) if spec.outputs else {}
        run = context.run
        self.job = StepJob(
            namespace=resource.job_namespace(),
            name=job_name,
            job_type=spec.job_type,
            parent_job=run.job_name,
            parent_run_id=run.run_id,
            engine_version=dg.__version__,
            sql=spec.sql,
        )

    def _emit(self, state: RunState, record: _StepRecord | None, error: str | None) -> None:
        check_name = self.spec.job_name.rsplit(".", 1)[-1]
        checks = [_assertion(r, check_name) for r in record.checks] if record else []
        metadata = (record.materialized if record else None) or {}
        inputs = [
            InputFacts(ref, checks if self.spec.checks_on_input else ())
            for ref in self.inputs.values()
        ]
        outputs = [
            OutputFacts(
                ref,
                columns=_columns(metadata) if key == self.spec.key else None,
                lineage=_lineage(metadata, self.inputs) if key == self.spec.key else None,
                transformations=self.spec.transformations,
                default_transformation=self.spec.default_transformation,
                rows=metadata_value(metadata.get("dagster/row_count"))
                if key == self.spec.key
                else None,
                version=_version(metadata) if key == self.spec.key else None,
                assertions=checks if key == self.spec.key else (),
            )
            for key, ref in self.outputs.items()
        ]
        event = run_event(state, self.job, self.run_id, inputs, outputs, error)
        try:
            self.client.emit(event)
        except Exception as exc:  # lineage export must not decide whether data is published
            self.log.warning(
                f"OpenLineage {state.value} event of {self.job.name} not sent "
                f"({self.client.transport.kind}): {exc}"
            )

    def start(self) -> None:
        self._emit(RunState.START, None, None)

    def complete(self, record: _StepRecord) -> None:
        self._emit(RunState.COMPLETE, record, None)

    def fail(self, record: _StepRecord, exc: BaseException) -> None:
        """FAIL for an error, ABORT for an interruption (the run was terminated)."""
        # A Failure's description is the gate summaries written for Dagster: names and counts.
        # Any other error is named by its type only: its message may quote a value.
        message = exc.description if isinstance(exc, dg.Failure) else type(exc).__name__
        state = RunState.FAIL if isinstance(exc, Exception) else RunState.ABORT
        self._emit(state, record, message or type(exc).__name__)


class LineageSpec:
    """How one step maps to OpenLineage: its job name, datasets and column derivations."""

    def __init__(
        self,
        key: str,
        inputs: Datasets,
        outputs: Datasets | None = None,
        *,
        job_name: str | None = None,
        job_type: str = "ASSET",
        transformations: Mapping[str, ColumnTransformation] | None = None,
        default_transformation: ColumnTransformation = IDENTITY,
        sql: str | None = None,
        checks_on_input: bool = False,
    ) -> None:
        self.key = key
        self.inputs = inputs
        self.outputs = outputs
        self.job_name = job_name or key
        self.job_type = job_type
        self.transformations = transformations or {}
        self.default_transformation = default_transformation
        self.sql = sql
        self.checks_on_input = checks_on_input


def emits_openlineage(dataset: str, spec: LineageSpec) -> Callable:
    """Wrap a step's compute function: START before it runs, then COMPLETE or FAIL with what it
    yielded or returned. The function must take an ``openlineage`` resource parameter."""

    def decorate(fn: Callable) -> Callable:
        job_name = f"{dataset}.{spec.job_name}"

        def emission(args: tuple, kwargs: Mapping[str, Any]) -> _Emission:
            context = args[0] if args else kwargs["context"]
            return _Emission(context, kwargs["openlineage"], job_name, kwargs, spec)

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def generator(*args: Any, **kwargs: Any) -> Iterator[Any]:
                run = emission(args, kwargs)
                record = _StepRecord()
                run.start()
                try:
                    for item in fn(*args, **kwargs):
                        record.note(item)
                        yield item
                except BaseException as exc:
                    run.fail(record, exc)
                    raise
                run.complete(record)

            return generator

        @functools.wraps(fn)
        def function(*args: Any, **kwargs: Any) -> Any:
            run = emission(args, kwargs)
            record = _StepRecord()
            run.start()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                run.fail(record, exc)
                raise
            record.note(result)
            run.complete(record)
            return result

        return function

    return decorate
