"""Feature assets: the dataset's feature SQL over redacted tables, under its contract."""

import hashlib
import re

import dagster as dg

from assets.validate import audited, contract_check_results, contract_check_specs
from pipeline.column_lineage import feature_column_lineage
from pipeline.contracts import ContractSuite
from pipeline.declarations import DatasetSpec
from pipeline.resources import Warehouse
from pipeline.sql import qualified
from pipeline.warehouse import frame_fingerprint, publish, write_staging


def render_feature_sql(dataset: DatasetSpec) -> str:
    """Replace each ``{source}`` with the quoted name of its published redacted table."""
    tables = {source: qualified("redacted", source) for source in dataset.sources}
    return re.sub(r"\{([a-z][a-z0-9_]*)\}",
                  lambda m: tables.get(m.group(1), m.group(0)), dataset.features.sql)


def _column_lineage(sql: str, schemas: dict[str, dict[str, str]],
                    columns: list[str]) -> dg.TableColumnLineage:
    deps = feature_column_lineage(sql, schemas, columns)
    return dg.TableColumnLineage(deps_by_column={
        column: [dg.TableColumnDep(asset_key=dg.AssetKey(f"redacted_{source}"),
                                   column_name=name) for source, name in pairs]
        for column, pairs in deps.items() if pairs
    })


def build_features_asset(dataset: DatasetSpec, suite: ContractSuite,
                         schemas: dict[str, dict[str, str]],
                         upstream_version: str) -> dg.AssetsDefinition:
    name = dataset.features.name
    sql = render_feature_sql(dataset)
    check_specs = contract_check_specs(suite, name)
    code_version = hashlib.sha256(
        f"{sql}:{suite.content_hash}:{upstream_version}".encode()).hexdigest()[:16]

    @dg.asset(
        name=name, group_name=dataset.name, check_specs=check_specs, code_version=code_version,
        deps=[f"redacted_{source}" for source in dataset.sources], kinds={"duckdb", "sql"},
        pool="duckdb",
        description=f"Feature table `features.{name}`: the dataset's SQL over redacted tables "
                    f"only, published if `expectations/{suite.path.name}` passes.",
        metadata={"sql": dg.MetadataValue.md(f"```sql\n{dataset.features.sql.strip()}\n```"),
                  "contract": f"expectations/{suite.path.name}",
                  "contract_sha256": suite.content_hash, "table": f"features.{name}"},
    )
    def _features(context: dg.AssetExecutionContext, warehouse: Warehouse):
        with warehouse.connect() as conn:
            # Joins run in parallel: sort, so the same inputs give the same table, the same
            # data version and the same train/test split.
            frame = conn.execute(f"SELECT * FROM ({sql}) ORDER BY ALL").df()
            write_staging(conn, frame, "features", name)
        yield from audited(name, check_specs, contract_check_results(suite, frame))
        with warehouse.connect() as conn:
            publish(conn, "features", name)
        context.log.info(f"{name}: {len(frame)} rows, {len(frame.columns)} columns")
        yield dg.MaterializeResult(
            data_version=dg.DataVersion(frame_fingerprint(frame)),
            metadata={
                "dagster/row_count": len(frame),
                "dagster/column_lineage": _column_lineage(sql, schemas, list(frame.columns)),
                "sql_sha256": hashlib.sha256(dataset.features.sql.encode()).hexdigest(),
                "contract": f"expectations/{suite.path.name}",
                "contract_sha256": suite.content_hash,
                "dagster/column_schema": dg.TableSchema(columns=[
                    dg.TableColumn(c, str(frame[c].dtype)) for c in frame.columns]),
            },
        )

    return _features
