"""The erasure ledger: an append-only record of every erasure request and what it did.

One JSON object a line in ``$GOVERN_HOME/erasure/ledger.jsonl`` (folder 0700, file 0600): each
request is ``started`` before anything is touched and ``completed`` once every place was
erased, then ``verified`` with the search's result. A request left ``started`` (the process was
killed half way) is found again by its subject's keyed HMAC and carried on by a rerun. The
ledger never holds a raw value: the subject and the values searched for are keyed HMACs.
"""

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_DIR, _FILE = 0o700, 0o600
LEDGER_FILE = "erasure/ledger.jsonl"


@dataclass(frozen=True)
class Ledger:
    """The ledger under a GOVERN_HOME."""

    home: Path

    @property
    def path(self) -> Path:
        return self.home / LEDGER_FILE

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Add one event (with its time), flushed to disk before returning."""
        entry = {"time": now(), **event}
        self.path.parent.mkdir(mode=_DIR, parents=True, exist_ok=True)
        os.chmod(self.path.parent, _DIR)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE)
        try:
            os.write(fd, (json.dumps(entry, sort_keys=True, default=str) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(self.path, _FILE)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def requests(self, dataset: str | None = None) -> dict[str, dict[str, Any]]:
        """Each request's events merged in order (``status`` is the last event), by id."""
        merged: dict[str, dict[str, Any]] = {}
        for entry in self.entries():
            if dataset is not None and entry.get("dataset", dataset) != dataset:
                continue
            request = merged.setdefault(entry["request"], {})
            request.update({k: v for k, v in entry.items() if k not in ("event", "time")})
            request.setdefault("started_at", entry["time"])
            request[f"{entry['event']}_at"] = entry["time"]
            request["status"] = entry["event"]
        return merged

    def request(self, request_id: str) -> dict[str, Any] | None:
        return self.requests().get(request_id)

    def unfinished(self, dataset: str, subject_hmac: str) -> str | None:
        """The id of a request for this subject that was started and never completed."""
        for request_id, request in self.requests(dataset).items():
            if request.get("subject_hmac") == subject_hmac and request["status"] == "started":
                return request_id
        return None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_request_id() -> str:
    """``E-<UTC time>-<random>``: sortable, unique, says nothing about the subject."""
    return f"E-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def erasures_of(home: Path, model: str, version: str) -> list[dict[str, Any]]:
    """The requests that changed data ``model`` version ``version`` was trained on (every
    request that tagged it), oldest first; ids, times, reasons and status, no values."""
    found = []
    for request_id, request in Ledger(home).requests().items():
        if f"{model}@{version}" in request.get("models", []):
            found.append(event_summary(request_id, request))
    return found


def event_summary(request_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """What an audit shows of a request: no subject, no values, only what was done."""
    return {
        "request": request_id,
        "dataset": request.get("dataset"),
        "started_at": request.get("started_at"),
        "status": request.get("status"),
        "reason": request.get("reason", ""),
        "rows_found": request.get("rows_found", {}),
        "landing": [
            {k: f[k] for k in ("path", "rows_removed", "sha256_after")}
            for f in request.get("landing", [])
        ],
        "tables": [t["table"] for t in request.get("tables", [])],
        "models": request.get("models", []),
    }


def erasure_events(home: Path, dataset: str | None = None) -> list[dict[str, Any]]:
    """Every request (of ``dataset``), as ``event_summary`` shows it."""
    return [event_summary(r, q) for r, q in Ledger(home).requests(dataset).items()]


def erasures_of_table(home: Path, table: str, version: int) -> list[str]:
    """The requests that purged ``table``'s history past ``version``: an erasure leaves only
    the versions from its ``version_after`` on, so an older recorded version is gone by it."""
    found = []
    for request_id, request in Ledger(home).requests().items():
        for erased in request.get("tables", []):
            if erased.get("table") == table and version < int(erased.get("version_after", -1)):
                found.append(request_id)
                break
    return found
