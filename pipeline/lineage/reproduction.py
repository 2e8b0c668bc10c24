"""What differs between a model version's BOM and now: its inputs, and a rebuild's outputs.

Inputs are the source file hashes, policy, contract and declaration hashes, code commit, lock
file and HMAC key fingerprint the BOM recorded; outputs are every asset's data version and every
metric of a rebuild. Each difference names what, the recorded value and the value now.
"""

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.contracts.suite import load_suite
from pipeline.declarations.files import file_hash
from pipeline.ingest.reader import file_sha256
from pipeline.lineage.provenance import code_state
from pipeline.naming import declared_file
from pipeline.privacy.transforms import key_fingerprint


@dataclass(frozen=True)
class Difference:
    what: str
    recorded: str
    now: str


@dataclass
class Reproduction:
    model: str
    version: str
    matches: bool
    input_differences: list[Difference]
    output_differences: list[Difference]
    rebuilt: dict[str, Any]
    # Erasure requests that changed the model's sources since: a rebuild cannot match.
    erasures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_path(root: Path, recorded: str) -> Path:
    path = Path(recorded)
    return path if path.is_absolute() else root / path


def _declaration_hash(kind: str, path: Path) -> str:
    """A contract is versioned by its parsed content, other declarations by their bytes."""
    if not path.is_file():
        return "missing"
    return load_suite(path).content_hash if kind == "contract" else file_hash(path)


def compare_inputs(bom: dict[str, Any], root: Path, hmac_key: bytes) -> list[Difference]:
    """What changed since the model was built: data, declarations, code, environment, key."""
    diffs = []
    for source, recorded in bom["sources"].items():
        path = source_path(root, recorded["path"])
        now = file_sha256(path) if path.is_file() else "missing"
        if now != recorded["sha256"]:
            diffs.append(
                Difference(f"source file {recorded['path']} ({source})", recorded["sha256"], now)
            )
    for tag, recorded in bom["declarations"].items():
        _, kind, name, _ = tag.split(".")
        relative = declared_file(kind, name)
        now = _declaration_hash(kind, root / relative)
        if now != recorded:
            diffs.append(Difference(f"{kind} {relative}", recorded, now))
    code_now = code_state(root)
    for key, recorded in bom["code"].items():
        if key in code_now and code_now[key] != recorded:
            diffs.append(Difference(f"code: {key}", str(recorded), str(code_now[key])))
    fingerprints = {r.get("hmac_key_fingerprint") for r in bom["redaction"].values()}
    now_key = key_fingerprint(hmac_key)
    if fingerprints - {now_key, None}:
        diffs.append(
            Difference(
                "HMAC key (GOVERN_HMAC_KEY) fingerprint",
                ", ".join(sorted(f for f in fingerprints if f)),
                now_key,
            )
        )
    return diffs


def compare_outputs(bom: dict[str, Any], rebuilt: dict[str, Any]) -> list[Difference]:
    """Data versions and metrics of the rebuild against those recorded."""
    diffs = (
        [Difference("rebuild failed", "success", "; ".join(rebuilt["failures"]))]
        if not rebuilt["success"]
        else []
    )
    for key, facts in bom["assets"].items():
        now = rebuilt["data_versions"].get(key)
        if now != facts["data_version"]:
            diffs.append(Difference(f"data version of {key}", str(facts["data_version"]), str(now)))
    for metric, value in bom["model"]["metrics"].items():
        now = rebuilt["metrics"].get(metric)
        if now is None or not math.isclose(now, value, rel_tol=1e-9, abs_tol=1e-12):
            diffs.append(Difference(f"metric {metric}", repr(value), repr(now)))
    return diffs
