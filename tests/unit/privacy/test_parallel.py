"""Work split over two cores: the same results as one process, in order, and a dead child is an
error rather than a hang."""

import io
import os
from concurrent.futures.process import BrokenProcessPool

import pandas as pd
import pytest

from pipeline.privacy import parallel, redactor, residual
from pipeline.privacy.parallel import split_in_two
from pipeline.privacy.policy import load_policy
from pipeline.privacy.redactor import Redactor
from pipeline.privacy.residual import residual_scan
from pipeline.samples.churn import generate
from tests.helpers import REPO

KEY = b"unit-test-key"


def _pids(start: int, end: int) -> list[tuple[int, int]]:
    return [(i, os.getpid()) for i in range(start, end)]


def test_large_work_is_split_in_two_halves_of_equal_weight_in_order():
    # given ten items, the last five five times heavier than the first five
    weights = [5] * 5 + [25] * 5
    # when the work is split
    parts = split_in_two(_pids, weights, min_items=2, min_weight=0)
    # then the halves hold about equal weight, run in two processes, and come back in order
    items = [i for part in parts for i, _ in part]
    assert items == list(range(10))
    assert len(parts) == 2 and len(parts[1]) < len(parts[0]), "halves split by weight"
    assert {pid for _, pid in parts[0]} == {os.getpid()}
    assert {pid for _, pid in parts[1]} != {os.getpid()}, "the second half runs in a child"


def test_small_work_stays_in_one_process():
    parts = split_in_two(_pids, [1] * 10, min_items=100, min_weight=100)
    assert len(parts) == 1 and {pid for _, pid in parts[0]} == {os.getpid()}


def test_a_split_inside_a_split_runs_serially():
    # given work that itself asks for a split (a redaction whose NER would split again)
    def nested(start: int, end: int) -> list[int]:
        inner = split_in_two(_pids, [1] * (end - start), min_items=1, min_weight=0)
        return [len(inner)]

    # when the outer work is split
    parts = split_in_two(nested, [1] * 4, min_items=2, min_weight=0)
    # then neither half split again: two processes on two cores, not three or four
    assert parts == [[1], [1]]


def _dies_in_the_child(start: int, end: int) -> list[int]:
    if start:
        os._exit(1)  # killed, as the kernel's OOM killer would
    return list(range(start, end))


def test_a_child_that_dies_is_an_error_not_a_hang():
    with pytest.raises(BrokenProcessPool):
        split_in_two(_dies_in_the_child, [1] * 4, min_items=2, min_weight=0)
    assert parallel._job is None and not parallel._splitting, "the next split may run"


def test_split_redaction_and_verification_equal_one_process(monkeypatch):
    # given a generated customers table, large enough for both halves to hold notes of all kinds
    text = generate(600, seed=11)["customers"]
    frame = pd.read_csv(io.StringIO(text), dtype=str, on_bad_lines="skip")
    policy = load_policy(REPO / "policies" / "customers.yaml")

    def run() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
        redactor_ = Redactor(policy, KEY)
        out, report = redactor_.redact(frame)
        residual_report, cleaned = residual_scan(redactor_, frame, out)
        return out, cleaned, {**report.as_metadata(), "residual": residual_report.as_metadata()}

    # when it is redacted and verified in one process, then split over two
    monkeypatch.setattr(parallel, "_splitting", True)  # in one process: nothing splits
    one = run()
    monkeypatch.setattr(parallel, "_splitting", False)
    monkeypatch.setattr(redactor, "_PARALLEL_ROWS", 2)
    monkeypatch.setattr(residual, "_PARALLEL_CELLS", 2)
    two = run()
    # then the published output, the report's counts and the verifier's figures are the same
    pd.testing.assert_frame_equal(one[0], two[0])
    pd.testing.assert_frame_equal(one[1], two[1])
    assert one[2] == two[2]
    assert one[2]["support_notes"]["values_changed"] > 0, "the notes held PII to redact"
