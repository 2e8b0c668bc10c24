"""Contracts: GX 1.x suites load, name their checks, validate a frame, and reject bad suites."""

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.contracts.suite import load_suite
from pipeline.contracts.validation import validate
from pipeline.errors import DeclarationError
from tests.helpers import REPO


@pytest.fixture(autouse=True)
def _own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GX's build of each suite is kept under GOVERN_HOME: this test's, not the checkout's."""
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("GOVERN_HOME", str(tmp_path / "home"))


def write_suite(tmp_path: Path, expectations: list[dict]) -> Path:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"name": "orders", "expectations": expectations}))
    return path


SUITE = [
    {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "id"},
        "meta": {"severity": "critical"},
    },
    {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "amount", "min_value": 0, "max_value": 100},
        "meta": {"severity": "warning"},
    },
]


def test_check_names_are_short_unique_per_asset_and_the_same_on_every_load(tmp_path: Path):
    # given a suite with two regexes on one column, a table-level clause and an unlisted type
    suite = [
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "id", "regex": "a"}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "id", "regex": "b"}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "id", "type_": "str"}},
    ]
    path = write_suite(tmp_path, suite)
    # when it is loaded twice
    first, second = load_suite(path), load_suite(path)
    # then each check has a short name, a suffix only where two would collide, the same twice
    names = [c.check_name for c in first.clauses]
    assert names == ["regex__id", "regex__id_2", "row_count", "of_type__id"], names
    assert names == [c.check_name for c in second.clauses], "check names must be stable"


def test_every_template_check_name_is_short_enough_to_read_whole_in_the_ui():
    # given every suite the template ships
    for path in sorted((REPO / "expectations").glob("*.json")):
        names = [c.check_name for c in load_suite(path).clauses]
        # then names are unique per asset, and none is as long as GX's own type names
        assert len(names) == len(set(names)), f"{path.name}: duplicate check names {names}"
        too_long = [n for n in names if len(n) > 34]
        assert not too_long, f"{path.name}: check names the UI would cut: {too_long}"


def test_suite_becomes_named_clauses_with_severity(tmp_path: Path):
    suite = load_suite(write_suite(tmp_path, SUITE))
    assert [(c.check_name, c.blocking) for c in suite.clauses] == [
        ("not_null__id", True),
        ("range__amount", False),
    ]
    assert len(suite.content_hash) == 64


def test_validate_reports_each_clause_with_evidence(tmp_path: Path):
    suite = load_suite(write_suite(tmp_path, SUITE))
    good = validate(suite, pd.DataFrame({"id": [1, 2], "amount": [5.0, 7.0]}))
    assert all(r.success for r in good), [r.summary() for r in good]
    bad = validate(suite, pd.DataFrame({"id": [1, None, 3], "amount": [5.0, 700.0, 1.0]}))
    assert [r.success for r in bad] == [False, False]
    assert bad[1].unexpected_count == 1 and bad[1].unexpected_sample == [700.0], bad[1]
    assert "1 unexpected" in bad[0].summary(), bad[0].summary()


def test_suite_naming_a_missing_column_is_a_load_error(tmp_path: Path):
    suite = load_suite(write_suite(tmp_path, SUITE))
    with pytest.raises(DeclarationError, match=r"columns \['amount'\] that asset 'orders'"):
        suite.check_columns(["id", "total"], "orders")


def test_malformed_suite_fails_with_file_and_reason(tmp_path: Path):
    path = write_suite(tmp_path, [{"type": "expect_nothing_in_particular", "kwargs": {}}])
    with pytest.raises(DeclarationError, match="not a valid GX 1.x expectation suite"):
        load_suite(path)


def test_shipped_suites_load():
    for path in sorted((REPO / "expectations").glob("*.json")):
        assert load_suite(path).clauses, path


def test_a_suite_gx_built_once_is_read_back_without_gx_and_a_changed_one_is_checked_again(
    tmp_path: Path,
):
    import subprocess
    import sys

    path = write_suite(tmp_path, SUITE)
    # given a suite GX built once in this GOVERN_HOME
    first = load_suite(path)
    assert list((tmp_path / "home" / "cache" / "contracts").glob("*.json"))
    # when another process loads it with GX unimportable
    script = (
        "import sys; sys.modules['great_expectations'] = None\n"
        "from pathlib import Path\n"
        "from pipeline.contracts.suite import load_suite\n"
        f"print([c.check_name for c in load_suite(Path({str(path)!r})).clauses])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    # then it gets the same clauses, read back from what GX built
    assert done.stdout.strip() == str([c.check_name for c in first.clauses])
    # and a changed suite is checked by GX again: a clause GX cannot build still fails at load
    path.write_text(json.dumps({"name": "orders", "expectations": [*SUITE, {"type": "expect_x"}]}))
    with pytest.raises(DeclarationError, match="not a valid GX 1.x expectation suite"):
        load_suite(path)


def test_loading_suites_never_creates_the_run_time_folder(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("GOVERN_HOME", str(tmp_path / "no-run-yet"))
    assert load_suite(write_suite(tmp_path, SUITE)).clauses
    assert not (tmp_path / "no-run-yet").exists()
