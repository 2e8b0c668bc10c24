"""The executor is configuration: GOVERN_EXECUTOR picks it, the assets stay the same."""

import pytest

from pipeline.definitions import build_definitions
from pipeline.errors import GovernError
from tests.helpers import REPO


def executor_of(monkeypatch: pytest.MonkeyPatch, value: str | None):
    if value is None:
        monkeypatch.delenv("GOVERN_EXECUTOR", raising=False)
    else:
        monkeypatch.setenv("GOVERN_EXECUTOR", value)
    defs = build_definitions(REPO)
    return defs.resolve_job_def("churn_job").executor_def


def test_govern_executor_chooses_the_executor_of_every_job(monkeypatch):
    # given each setting, when the code location loads, then the job's executor follows it
    # (the Celery test in e2e/ runs steps through it on real workers)
    celery = executor_of(monkeypatch, "celery")
    default = executor_of(monkeypatch, None)
    assert celery.name == "celery"
    assert default.name != "celery", "without the setting, Dagster's default executor"
    assert executor_of(monkeypatch, "multiprocess").name == "multiprocess"


def test_an_unknown_executor_is_refused_with_the_choices(monkeypatch):
    # given a misspelt executor, when the code location loads, then the error lists the choices
    with pytest.raises(GovernError, match="'celry' is not one of default, multiprocess, celery"):
        executor_of(monkeypatch, "celry")
