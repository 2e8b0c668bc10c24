"""``govern erase``: carry out one erasure request end to end, and prove it.

Order matters for a rerun: the ledger says ``started`` (with keyed fingerprints of the values
to search for) before anything is touched; the model versions are tagged and the MLflow
artifacts scrubbed while the feature rows can still be read; the tables are erased from the
ones reached through derived keys down to the raw tables; the landing files go last, dependents
before the primary source. Until the very end, the landing files or the raw tables still name
every key, so a rerun of an interrupted request finds everything again and completes it.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import settings
from pipeline.erasure.footprint import Footprint, locate
from pipeline.erasure.landing import csv_records, rewrite_without
from pipeline.erasure.ledger import Ledger, new_request_id
from pipeline.erasure.models import feature_rows, scrub_input_examples, tag_versions
from pipeline.erasure.proof import Place, Searcher, fingerprints, normalize, search_place
from pipeline.erasure.scope import ErasureError, Scope, Subject, resolve_scope
from pipeline.erasure.tables import (
    Match,
    erase_ingest_quarantine,
    erase_match,
    plan,
)
from pipeline.naming import redacted_asset
from pipeline.privacy.transforms import hmac_token
from pipeline.storage.tables import Erased, TableStore, table_files


@dataclass
class Erasure:
    """What one request did, for the ledger and the command's output (no values)."""

    request: str
    subject: Subject
    found: bool
    resumed: bool = False
    rows: dict[str, int] = field(default_factory=dict)
    landing: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    proof: list[Place] = field(default_factory=list)
    too_short: list[str] = field(default_factory=list)
    not_searched: list[str] = field(default_factory=list)  # other datasets' tables

    @property
    def clean(self) -> bool:
        return not any(p.found for p in self.proof)


def subject_hmac(key: bytes, subject: Subject) -> str:
    """The subject as the ledger names it: a keyed HMAC of dataset, column and value."""
    return hmac_token(key, f"{subject.dataset}\x1f{subject.column}\x1f{subject.value}", "subj_")


def erase(
    root: Path, subject: Subject, key: bytes, reason: str, *, allow_missing: bool = False
) -> Erasure:
    """Erase ``subject`` everywhere (see the module's docstring for the order), then search."""
    store, ledger = TableStore(settings.tables_root()), Ledger(settings.govern_home())
    scope = resolve_scope(root, subject)
    footprint = locate(root, store, scope, subject, key)
    who = subject_hmac(key, subject)
    resumed = ledger.unfinished(subject.dataset, who)
    if not footprint.found and resumed is None:
        if allow_missing:
            return Erasure("", subject, found=False)
        raise ErasureError(
            f"subject {subject.column}=<value> was not found in dataset {subject.dataset!r} "
            f"(landing files and raw tables of {', '.join(scope.sources)}): nothing was erased. "
            "Check the column and value, or pass --allow-missing to accept it."
        )
    request = resumed or new_request_id()
    result = Erasure(request, subject, found=footprint.found, resumed=resumed is not None)
    result.rows = dict(footprint.rows)
    prints, result.too_short = fingerprints(key, footprint.values)
    if resumed is None:
        ledger.append(_started(request, subject, who, reason, footprint, prints))
    _erase_everywhere(root, store, scope, subject, footprint, key, result)
    ledger.append(_completed(result))
    searcher = Searcher.of(key, prints, _lengths(footprint))
    result.proof, result.not_searched = search(root, scope, searcher)
    ledger.append(_verified(result))
    return result


def _lengths(footprint: Footprint) -> list[int]:
    return [len(normalize(v)) for values in footprint.values.values() for v in values]


def _started(request, subject, who, reason, footprint, prints) -> dict[str, Any]:
    return {
        "event": "started",
        "request": request,
        "dataset": subject.dataset,
        "subject_column": subject.column,
        "subject_hmac": who,
        "reason": reason,
        "rows_found": footprint.rows,
        # Keyed fingerprints of the values to search for (never the values): what
        # `govern erase --verify` needs once the rows are gone.
        "search": {"fingerprints": prints, "longest": max(_lengths(footprint), default=0)},
    }


def _completed(result: Erasure) -> dict[str, Any]:
    return {
        "event": "completed",
        "request": result.request,
        "dataset": result.subject.dataset,
        "landing": result.landing,
        "tables": result.tables,
        "artifacts": result.artifacts,
        "models": result.models,
        "time_travel": "every table above lost its versions before `version_after`: "
        "time travel to before this erasure is gone",
    }


def _verified(result: Erasure) -> dict[str, Any]:
    return {
        "event": "verified" if result.clean else "verify-failed",
        "request": result.request,
        "dataset": result.subject.dataset,
        "proof": [p.as_record() for p in result.proof],
        "not_searched_too_short": result.too_short,
        "not_searched": result.not_searched,
    }


def _erase_everywhere(root, store, scope, subject, footprint, key, result: Erasure) -> None:
    commit = {"govern_erasure": result.request}
    matches = plan(scope, subject, footprint, key)
    features = next(m for m in matches if m.table.startswith("features."))
    rows = _subject_features(store, features)
    model = scope.dataset.model
    result.models = tag_versions(settings.mlflow_tracking_uri(), model.name, result.request)
    artifacts = Path(settings.mlflow_artifact_root().removeprefix("file://"))
    result.artifacts = scrub_input_examples(artifacts, model, feature_rows(rows, model))
    for match in matches:
        _note(result, erase_match(store, match, commit))
    for source in scope.sources:
        _note(result, _erase_quarantine(root, store, scope, subject, footprint, source, commit))
    for source in (*scope.dependents, scope.primary):
        spec = scope.dataset.sources[source]
        path = root / spec.path
        if not path.is_file():
            continue
        column = subject.column if source == scope.primary else scope.link
        values = {subject.value} if source == scope.primary else footprint.link_values
        if source == scope.primary and subject.column != scope.link:
            rewritten = rewrite_without(path, spec, scope.link, footprint.link_values)
            result.landing.append(_landing_record(root, rewritten))
        rewritten = rewrite_without(path, spec, column, values)
        result.landing.append(_landing_record(root, rewritten))


def _landing_record(root: Path, rewritten) -> dict[str, Any]:
    path = Path(rewritten.path)
    shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    return {
        "path": shown,
        "rows_removed": rewritten.rows_removed,
        "sha256_before": rewritten.sha256_before,
        "sha256_after": rewritten.sha256_after,
    }


def _subject_features(store: TableStore, match: Match) -> list[dict[str, Any]]:
    """The subject's rows of the feature table, before they are deleted (for the artifacts)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema, table = match.table.split(".")
    if not store.exists(schema, table):
        return []
    data = store.snapshot(schema, table).dataset.to_table()
    text = pc.cast(data[match.column], pa.string())
    mask = pc.fill_null(pc.is_in(text, value_set=pa.array(sorted(match.values))), False)
    return data.filter(mask).to_pylist()


def _erase_quarantine(root, store, scope: Scope, subject, footprint, source, commit):
    spec = scope.dataset.sources[source]
    path = root / spec.path
    header = list(spec.columns)
    if path.is_file() and spec.file_format == "csv":
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)[:1]
        header = csv_records(lines, spec.delimiter)[0] or header
    columns = {scope.link: frozenset(footprint.link_values)}
    if source == scope.primary and subject.column != scope.link:
        columns[subject.column] = frozenset({subject.value})
    return erase_ingest_quarantine(store, source, header, columns, commit)


def _note(result: Erasure, erased: Erased | None) -> None:
    if erased is not None:
        result.tables.append(
            {
                "table": erased.name,
                "rows_deleted": erased.rows_deleted,
                "version_before": erased.version_before,
                "version_after": erased.version_after,
                "files_removed": erased.files_removed,
            }
        )


# -- the proof ---------------------------------------------------------------------------


def dataset_tables(scope: Scope) -> set[str]:
    """Every table the dataset writes: raw, quarantines, redacted, features."""
    features = scope.dataset.features.name
    names = {f"features.{features}", f"quarantine.{features}"}
    for source in scope.dataset.sources:
        names |= {f"raw.{source}", f"quarantine.{source}", f"redacted.{source}"}
        names.add(f"quarantine.{redacted_asset(source)}")
    return names


def places(root: Path, scope: Scope) -> tuple[list[tuple[str, list[Path]]], list[str]]:
    """Every place searched: each of the dataset's tables' folders (all versions on disk and
    its log), its landing files, the MLflow artifacts, and everything else under GOVERN_HOME;
    and the tables of other datasets, left out: they hold other people, some of whom may share
    a name with the subject."""
    store = TableStore(settings.tables_root())
    home = settings.govern_home()
    seen: set[Path] = set()
    out: list[tuple[str, list[Path]]] = []

    def add(label: str, files: list[Path]) -> None:
        fresh = [f for f in files if f.resolve() not in seen]
        seen.update(f.resolve() for f in fresh)
        out.append((label, fresh))

    own = dataset_tables(scope)
    others = [name for name in store.published() if name not in own]
    for name in others:
        seen.update(f.resolve() for f in table_files(store, name))
    for name in sorted(own):
        add(f"table {name} (every version on disk, and its Delta log)", table_files(store, name))
    for source, spec in scope.dataset.sources.items():
        path = root / spec.path
        add(f"landing file of {source} ({path})", [path] if path.is_file() else [])
    artifacts = Path(settings.mlflow_artifact_root().removeprefix("file://"))
    add("MLflow artifacts", _files(artifacts))
    add(f"everything else under GOVERN_HOME ({home})", _files(home))
    return out, others


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def search(root: Path, scope: Scope, searcher: Searcher) -> tuple[list[Place], list[str]]:
    """Search every place; also the other datasets' tables, left out."""
    where, others = places(root, scope)
    return [search_place(Place(label), files, searcher) for label, files in where], others


def verify_request(
    root: Path, request_id: str, key: bytes
) -> tuple[dict[str, Any], list[Place], list[str]]:
    """Search again for a recorded request, from the fingerprints its ledger entry keeps."""
    ledger = Ledger(settings.govern_home())
    request = ledger.request(request_id)
    if request is None:
        raise ErasureError(
            f"no erasure request {request_id!r} in the ledger ({ledger.path}); "
            "`govern erase --list` shows the requests"
        )
    subject = Subject(request["dataset"], request["subject_column"], "")
    scope = resolve_scope(root, subject)
    searched = request.get("search", {})
    prints = searched.get("fingerprints", {})
    searcher = Searcher(key, prints, int(searched.get("longest", 0)))
    proof, others = search(root, scope, searcher)
    ledger.append(
        {
            "event": "verified" if not any(p.found for p in proof) else "verify-failed",
            "request": request_id,
            "dataset": request["dataset"],
            "proof": [p.as_record() for p in proof],
            "not_searched": others,
        }
    )
    return request, proof, others
