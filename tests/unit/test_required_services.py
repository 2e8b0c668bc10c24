"""The one rule for tests that need a service: skip with how to start it, or fail in CI."""

import socket

import pytest

from tests.helpers import REQUIRE_SERVICES, require_service


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def listening_port() -> int:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_an_absent_service_skips_the_test_saying_how_to_start_it(closed_port, monkeypatch):
    # given no service on the port, outside CI
    monkeypatch.delenv(REQUIRE_SERVICES, raising=False)
    # when a test requires it
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_service("Broker", "127.0.0.1", closed_port, "run `broker start`")
    # then the test is skipped, and the reason names the service, where, and how to start it
    reason = str(skipped.value)
    assert "Broker" in reason and f"127.0.0.1:{closed_port}" in reason, reason
    assert "run `broker start`" in reason, reason


def test_in_ci_an_absent_service_fails_the_test(closed_port, monkeypatch):
    # given CI's setting
    monkeypatch.setenv(REQUIRE_SERVICES, "1")
    # when a test requires a service that is absent
    with pytest.raises(pytest.fail.Exception) as failed:
        require_service("Broker", "127.0.0.1", closed_port, "run `broker start`")
    # then the test fails (a skip would let CI pass without running it)
    assert "run `broker start`" in str(failed.value) and REQUIRE_SERVICES in str(failed.value)


def test_a_service_that_answers_lets_the_test_run(listening_port, monkeypatch):
    # given a service listening, in CI
    monkeypatch.setenv(REQUIRE_SERVICES, "1")
    # when a test requires it, then nothing is raised
    assert require_service("Broker", "127.0.0.1", listening_port, "n/a") is None
