"""Feature assets: the dataset's feature SQL over redacted tables, under its contract.

The SQL runs in a sandbox holding the published redacted tables (Delta snapshots registered as
Arrow datasets) and nothing else (``pipeline.storage.sandbox``): only redacted data can reach
features.
"""

import hashlib

import dagster as dg

from assets.checks import audited, contract_check_specs, row_counts, screened_check_results
from assets.openlineage import LineageSpec, OpenLineageResource, emits_openlineage, tables
from assets.resources import Warehouse
from assets.run_inputs import upstream_table_version
from pipeline.contracts.dataset import DatasetContracts
from pipeline.contracts.rows import screen
from pipeline.lineage.column_lineage import feature_column_lineage
from pipeline.lineage.openlineage import FEATURE_SQL
from pipeline.naming import redacted_asset, suite_file
from pipeline.storage.sandbox import redacted_sandbox
from pipeline.storage.warehouse import frame_fingerprint


def _column_lineage(
    sql: str, schemas: dict[str, dict[str, str]], columns: list[str]
) -> dg.TableColumnLineage:
    deps = feature_column_lineage(sql, schemas, columns)
    return dg.TableColumnLineage(
        deps_by_column={
            column: [
                dg.TableColumnDep(asset_key=dg.AssetKey(redacted_asset(source)), column_name=name)
                for source, name in pairs
            ]
            for column, pairs in deps.items()
            if pairs
        }
    )


def build_features_asset(contracts: DatasetContracts, upstream_version: str) -> dg.AssetsDefinition:
    dataset, suite, sql = contracts.dataset, contracts.features_suite, contracts.feature_sql
    name = dataset.features.name
    contract = str(suite_file(name))
    check_specs = contract_check_specs(suite, name)
    code_version = hashlib.sha256(
        f"{sql}:{suite.content_hash}:{upstream_version}".encode()
    ).hexdigest()[:16]

    @dg.asset(
        name=name,
        group_name=dataset.name,
        check_specs=check_specs,
        code_version=code_version,
        deps=[redacted_asset(source) for source in dataset.sources],
        kinds={"deltalake", "duckdb", "sql"},
        description=f"Feature table `features.{name}`: the dataset's SQL over redacted tables "
        f"only, published if `{contract}` passes.",
        metadata={
            "sql": dg.MetadataValue.md(f"```sql\n{dataset.features.sql.strip()}\n```"),
            "contract": contract,
            "contract_sha256": suite.content_hash,
            "table": f"features.{name}",
        },
    )
    @emits_openlineage(
        dataset.name,
        LineageSpec(
            name,
            inputs=tables({redacted_asset(s): f"redacted.{s}" for s in dataset.sources}),
            outputs=tables({name: f"features.{name}", f"quarantine.{name}": f"quarantine.{name}"}),
            default_transformation=FEATURE_SQL,
            sql=dataset.features.sql.strip(),
        ),
    )
    def _features(
        context: dg.AssetExecutionContext, warehouse: Warehouse, openlineage: OpenLineageResource
    ):
        # Only the redacted tables this run published (never a concurrent run's), each pinned
        # to its version, on a locked connection that can reach nothing else.
        run_id = context.run.run_id
        inputs = {
            source: warehouse.snapshot(
                f"redacted.{source}",
                upstream_table_version(context.instance, run_id, redacted_asset(source)),
            )
            for source in dataset.sources
        }
        with redacted_sandbox(inputs) as sandbox:
            # Joins run in parallel: sort, so the same inputs give the same table, the same
            # data version and the same train/test split.
            frame = sandbox.execute(f"SELECT * FROM ({sql}) ORDER BY ALL").df()
        # Rows failing a row-level clause are quarantined; the rest is checked as a table.
        screened = screen(suite, frame, dataset.features.max_reject_fraction)
        counts = row_counts(len(frame), len(screened.kept), len(screened.quarantined))
        # Staged in memory: published only if every blocking clause passes.
        frame = screened.kept.reset_index(drop=True)
        yield from audited(name, check_specs, screened_check_results(suite, screened), counts)
        versions = {
            **warehouse.publish(context, f"features.{name}", frame),
            **warehouse.publish(context, f"quarantine.{name}", screened.quarantined),
        }
        context.log.info(f"{name}: {len(frame)} rows, {len(frame.columns)} columns")
        yield dg.MaterializeResult(
            data_version=dg.DataVersion(frame_fingerprint(frame)),
            metadata={
                **counts,
                "table": f"features.{name}",
                "quarantine_table": f"quarantine.{name}",
                **versions,
                # The redacted versions the SQL read: time travel gives the same input back.
                "input_table_versions": dg.MetadataValue.json(
                    {s.name: s.version for s in inputs.values()}
                ),
                "dagster/row_count": len(frame),
                "dagster/column_lineage": _column_lineage(
                    sql, contracts.redacted_schemas, list(frame.columns)
                ),
                "sql_sha256": hashlib.sha256(dataset.features.sql.encode()).hexdigest(),
                "contract": contract,
                "contract_sha256": suite.content_hash,
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(c, str(frame[c].dtype)) for c in frame.columns]
                ),
            },
        )

    return _features
