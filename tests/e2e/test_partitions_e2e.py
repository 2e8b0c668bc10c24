"""A source that arrives in batches: each file is a Dagster partition.

The churn transactions are split into four daily files. `govern backfill` runs ingest and
redaction once per file, each run replacing only its own partition's rows in the Delta tables,
then the feature table and the model once over every partition.
"""

import json
import shutil

import pytest
from deltalake import DeltaTable

from pipeline.cli.app import main
from pipeline.storage.tables import PARTITION_COLUMN
from tests.helpers import split_into_daily_batches, store, table_rows, tables

pytestmark = pytest.mark.e2e


def partition_rows(table: str) -> dict[str, int]:
    with tables() as conn:
        result = conn.execute(
            f"SELECT {PARTITION_COLUMN}, count(*) FROM {table} GROUP BY 1 ORDER BY 1"
        ).fetchall()
    return dict(result)


def with_every_amount_negative(path) -> str:
    """The batch with every amount negative, which the contract bans; returns the original."""
    original = path.read_text()
    lines = original.splitlines()
    for number in range(1, len(lines)):
        fields = lines[number].split(",")
        if len(fields) > 3:
            fields[3] = "-42.00"
            lines[number] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return original


def test_a_backfill_runs_each_batch_as_a_partition_and_a_rerun_replaces_only_its_rows(
    project, capsys
):
    # given the transactions as four daily files, the last one failing its contract
    keys = split_into_daily_batches(project)
    bad = project / "data/raw/transactions" / keys[-1]
    original = with_every_amount_negative(bad)
    # when every partition is backfilled
    code = main(["backfill", "--dataset", "churn", "--json"])
    summary = json.loads(capsys.readouterr().out)
    # then the bad partition blocked, the others were published, and nothing downstream ran
    assert code == 1, "a blocked partition makes the backfill exit 1"
    outcome = {k: run["success"] for k, run in summary["partitions"].items()}
    assert outcome == {**dict.fromkeys(keys[:-1], True), keys[-1]: False}, outcome
    assert any("redacted_transactions" in f for f in summary["partitions"][keys[-1]]["failures"])
    assert summary["downstream"] is None
    assert set(partition_rows("redacted.transactions")) == set(keys[:-1])
    assert not store().exists("features", "customer_features"), "features waited for all"
    good = partition_rows("redacted.transactions")

    # when the batch is fixed (ten rows fewer) and only its partition is run again
    lines = original.splitlines()
    bad.write_text("\n".join(lines[:-10]) + "\n")
    version = store().version("redacted", "transactions")
    code = main(["backfill", "--dataset", "churn", "--partition", keys[-1], "--json"])
    summary = json.loads(capsys.readouterr().out)
    # then that partition's rows were added in one commit, the others untouched
    assert code == 0, summary
    assert list(summary["partitions"]) == [keys[-1]]
    assert store().version("redacted", "transactions") == version + 1
    after = partition_rows("redacted.transactions")
    assert {k: after[k] for k in keys[:-1]} == good, "the other partitions were not rewritten"
    loaded = partition_rows("raw.transactions")[keys[-1]]
    rejected = partition_rows("quarantine.transactions").get(keys[-1], 0)
    assert loaded + rejected == len(lines) - 11, "every line of the fixed batch, no header"
    # and the features and the model were built once, over every partition
    downstream = {a["asset"]: a["status"] for a in summary["downstream"]["assets"]}
    assert downstream["customer_features"] == "materialized"
    assert downstream["churn_model"] == "materialized", summary["downstream"]["failures"]
    with tables() as conn:
        orders = conn.execute("SELECT sum(n_orders) FROM features.customer_features").fetchone()
    assert orders[0] == sum(after.values()), "the features read every partition's orders"


def test_a_backfill_of_a_dataset_without_batches_or_of_an_unknown_batch_is_a_usage_error(
    project, capsys
):
    # given churn with daily batches, and readmission without any
    keys = split_into_daily_batches(project)
    # when a backfill names a dataset without a partitioned source, then it says so
    assert main(["backfill", "--dataset", "readmission"]) == 2
    assert "has no partitioned source" in capsys.readouterr().err
    # when it names a batch that is not in the folder, then it lists the known ones
    assert main(["backfill", "--dataset", "churn", "--partition", "2026-07-01.csv"]) == 2
    err = capsys.readouterr().err
    assert "no batch file ['2026-07-01.csv']" in err and keys[0] in err
    # when `govern run` is given a file for the partitioned source, then it says what to do
    assert main(["run", "--source", f"transactions={project / 'x.csv'}"]) == 2
    assert "govern backfill --dataset churn --partition" in capsys.readouterr().err


def run_churn_json(capsys) -> dict:
    """`govern run --dataset churn --json`: its one summary (a backfill's, once partitioned)."""
    capsys.readouterr()
    code = main(["run", "--dataset", "churn", "--json"])
    summary = json.loads(capsys.readouterr().out)[0]
    assert code == 0, summary
    return summary


def partitions_committed(table: str, since: int) -> set[str]:
    """The partitions the commits after version ``since`` of a table published."""
    history = DeltaTable(store().uri(*table.split("."))).history()
    return {e.get("dagster_partition", "") for e in history if e["version"] > since}


def loaded(run: dict, asset: str = "raw_transactions") -> int:
    """Rows an ingest asset loaded in one run's summary."""
    return next(a["facts"]["rows_loaded"] for a in run["assets"] if a["asset"] == asset)


def test_only_new_or_changed_batches_rerun_and_a_layout_switch_rebuilds_the_tables_cleanly(
    project, capsys
):
    # given a first run with the transactions as one file, on this GOVERN_HOME
    declaration = (project / "datasets/churn.yaml").read_text()
    whole_file = (project / "data/raw/transactions.csv").read_text()
    run_churn_json(capsys)
    # when the source is switched to three daily batches, and only one batch is asked for
    keys = split_into_daily_batches(project, days=3)
    assert main(["backfill", "--dataset", "churn", "--partition", keys[0]]) == 2
    # then it is refused: the tables were written from one file, and say how to rebuild them
    err = capsys.readouterr().err
    assert "raw.transactions" in err and "were written from one file" in err, err
    assert "govern run --dataset churn" in err, err
    # when `govern run` runs the dataset
    summary = run_churn_json(capsys)
    # then the source's tables were reset and rebuilt from every batch: no row of the
    # whole-file layout is left beside the batches' rows
    assert set(summary["tables_reset"]) >= {"raw.transactions", "redacted.transactions"}
    assert sorted(summary["partitions"]) == keys, summary["partitions"]
    assert set(partition_rows("raw.transactions")) == set(keys), "every row has its batch"
    batches = sum(loaded(run) for run in summary["partitions"].values())
    assert table_rows("raw.transactions") == batches, "the batches' rows and no other"
    assert store().partitioned("redacted", "transactions")

    # when it runs again with no file changed, then nothing runs and no model is trained
    version = store().version("redacted", "transactions")
    again = run_churn_json(capsys)
    assert again["up_to_date"] and not again["partitions"] and again["downstream"] is None
    assert store().version("redacted", "transactions") == version, "no commit at all"

    # when one batch changes (ten rows fewer) and a new one lands (twenty new orders)
    first = project / "data/raw/transactions" / keys[0]
    lines = first.read_text().splitlines()
    first.write_text("\n".join(lines[:-10]) + "\n")
    new_key = "2026-06-30.csv"
    fresh = [f"{int(line.split(',')[0]) + 10**7},{line.split(',', 1)[1]}" for line in lines[1:21]]
    (project / "data/raw/transactions" / new_key).write_text("\n".join([lines[0], *fresh]) + "\n")
    summary = run_churn_json(capsys)
    # then only those two partitions ran, then the features and the model
    assert sorted(summary["partitions"]) == [keys[0], new_key], summary["partitions"]
    assert summary["downstream"]["success"], summary["downstream"]["failures"]
    status = {a["asset"]: a["status"] for a in summary["downstream"]["assets"]}
    assert status["customer_features"] == status["churn_model"] == "materialized", status
    assert status["raw_customers"] == "up to date", "an unchanged source is not rerun"
    committed = partitions_committed("redacted.transactions", version)
    assert committed == {keys[0], new_key}, f"untouched batches get no commit: {committed}"
    assert partition_rows("raw.transactions")[new_key] == 20

    # when the source is switched back to one file
    (project / "datasets/churn.yaml").write_text(declaration)
    shutil.rmtree(project / "data/raw/transactions")
    (project / "data/raw/transactions.csv").write_text(whole_file)
    summary = run_churn_json(capsys)
    # then its tables are whole tables again, with the file's rows only
    assert summary["success"], summary["failures"]
    assert not store().partitioned("raw", "transactions")
    assert not store().partitioned("redacted", "transactions")
    assert table_rows("raw.transactions") == loaded(summary)
    with tables() as conn:
        columns = [c[0] for c in conn.execute("DESCRIBE redacted.transactions").fetchall()]
    assert PARTITION_COLUMN not in columns, columns
