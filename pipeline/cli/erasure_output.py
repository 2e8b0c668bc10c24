"""How ``govern erase`` prints a request, its proof and the ledger: kinds, never values."""

from typing import Any


def erasure_json(result) -> dict[str, Any]:
    return {
        "request": result.request,
        "dataset": result.subject.dataset,
        "subject_column": result.subject.column,
        "found": result.found,
        "resumed": result.resumed,
        "rows": result.rows,
        "landing": result.landing,
        "tables": result.tables,
        "artifacts": result.artifacts,
        "models": result.models,
        "proof": [p.as_record() for p in result.proof],
        "clean": result.clean,
        "not_searched": result.not_searched,
    }


def format_proof(proof, too_short: list[str], others: list[str]) -> str:
    lines = []
    for place in proof:
        files = f"{place.files} files" + (
            f", {place.decoded_files} Parquet decoded" if place.decoded_files else ""
        )
        if place.found:
            kinds = ", ".join(f"{k} ({n})" for k, n in sorted(place.found.items()))
            lines.append(f"  FOUND in {place.label} [{files}]: {kinds}")
            lines += [f"    {path}" for path in sorted(place.where)]
        else:
            lines.append(f"  none found in {place.label} [{files}]")
    if too_short:
        lines.append(f"  not searched (too short to tell from chance): {', '.join(too_short)}")
    if others:
        lines.append(
            f"  not searched: other datasets' tables ({', '.join(others)}): they hold other "
            "people, some may share a name; erase from their dataset with a request of its own"
        )
    return "\n".join(lines)


def format_erasure(result) -> str:
    subject = f"{result.subject.column}=<value>"
    if not result.found and not result.resumed:
        return f"dataset {result.subject.dataset}: subject {subject} not found; nothing erased"
    head = f"erasure {result.request}: dataset {result.subject.dataset}, subject {subject}"
    lines = [head + (" (resumed: an earlier run was interrupted)" if result.resumed else "")]
    lines.append("rows found: " + ", ".join(f"{s} {n}" for s, n in result.rows.items()))
    for landing in result.landing:
        lines.append(
            f"landing {landing['path']}: {landing['rows_removed']} rows removed, sha256 now "
            f"{landing['sha256_after']}"
        )
    for table in result.tables:
        lines.append(
            f"table {table['table']}: {table['rows_deleted']} rows deleted, version "
            f"{table['version_before']} -> {table['version_after']}, {table['files_removed']} "
            "files vacuumed; versions before it are gone"
        )
    lines += [f"artifact scrubbed: {path}" for path in result.artifacts]
    if result.models:
        lines.append(f"tagged erasure: retrain-required: {', '.join(result.models)}")
    verdict = "none of the subject's values found" if result.clean else "VALUES STILL FOUND"
    lines.append(f"proof ({verdict}):")
    lines.append(format_proof(result.proof, result.too_short, result.not_searched))
    return "\n".join(lines)


def format_requests(requests: dict[str, dict[str, Any]]) -> str:
    if not requests:
        return "no erasure requests"
    lines = []
    for request_id, request in requests.items():
        rows = sum((request.get("rows_found") or {}).values())
        lines.append(
            f"{request_id}  {request['started_at']}  dataset {request['dataset']}  "
            f"{request['status']}  {rows} rows  {request.get('reason') or ''}".rstrip()
        )
    return "\n".join(lines)
