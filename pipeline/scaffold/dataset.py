"""``govern new-dataset``: declare a dataset from its files, with no pipeline code.

Profiles each file, then writes:

- ``datasets/<name>.yaml``: sources with their ingest contracts, the feature SQL and the model,
- ``policies/<source>.yaml``: every column classified from its name and from a Presidio scan
  of its values. Guesses are flagged ``review`` for a person to confirm (``govern policy
  check`` lists them),
- ``expectations/<source>.json`` and ``expectations/<name>_features.json``: starter suites
  profiled from the redacted data,

and copies the files to ``data/raw/<name>/``. The declaration is then loaded and cross-checked
like any other; on any failure every file written is removed again.
"""

import json
import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipeline.contracts.dataset import load_contracts
from pipeline.contracts.profiling import propose_suite
from pipeline.declarations.dataset import NAME_PATTERN, DatasetSpec, load_dataset, load_datasets
from pipeline.errors import GovernError
from pipeline.ingest.reader import ingest_to_table
from pipeline.naming import POLICIES_DIR, declaration_path, policy_path, suite_path
from pipeline.privacy.file_redaction import RedactionKeys
from pipeline.privacy.policy import PiiPolicy, load_policy
from pipeline.privacy.redactor import Redactor
from pipeline.scaffold.classify import classify
from pipeline.scaffold.features import propose_feature_sql
from pipeline.scaffold.profile import SourceProfile, guess_key, read_source, source_name
from pipeline.storage.sql import qualified
from pipeline.storage.warehouse import render_feature_sql


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (the feature SQL) as readable ``|`` blocks."""


_BlockDumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar(
        "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None
    ),
)


def _policy_yaml(source: str, rules: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"# PII policy for source {source!r}, proposed by `govern new-dataset`.",
        "# Columns marked `review` are guesses: confirm or change each, then delete its",
        "# `review` key. `govern policy check` lists what is left.",
        f"source: {source}",
        "language: en",
        "",
        "columns:",
    ]
    for column, rule in rules.items():
        flow = yaml.safe_dump(rule, default_flow_style=True, sort_keys=False, width=1000).strip()
        lines.append(f"  {column}: {flow}")
    return "\n".join(lines) + "\n"


def _profiles(root: Path, files: list[Path]) -> list[SourceProfile]:
    taken = {s for d in load_datasets(root) for s in d.sources} | {
        p.stem for p in (root / POLICIES_DIR).glob("*.yaml")
    }
    profiles = []
    for path in files:
        columns, frame = read_source(path)
        profiles.append(
            SourceProfile(
                source_name(path.stem, taken), path, columns, frame, guess_key(columns, frame)
            )
        )
    return profiles


def _main_and_joins(
    profiles: list[SourceProfile], target: str
) -> tuple[SourceProfile, list[tuple[SourceProfile, str]]]:
    """The source holding the binary target, and each other source with its join column."""
    mains = [p for p in profiles if target in p.columns]
    if len(mains) != 1:
        raise GovernError(
            f"target column {target!r} must be in exactly one source; found in "
            f"{[p.name for p in mains] or 'none'}"
        )
    main = mains[0]
    values = set(main.frame[target].dropna().unique().tolist())
    if not values <= {0, 1} or len(values) < 2:
        raise GovernError(
            f"target {target!r} must be binary 0/1 (found {sorted(map(str, values))[:5]})"
        )
    others = []
    for profile in profiles:
        if profile is main:
            continue
        shared = [c for c in profile.columns if c in main.columns and c != target]
        if not shared:
            raise GovernError(f"{profile.path}: no column shared with {main.path} to join on")
        others.append((profile, shared[0]))
    return main, others


def scaffold_dataset(
    root: Path, name: str, files: list[Path], target: str, keys: RedactionKeys
) -> list[Path]:
    """Write the declaration, policies, suites and data for a new dataset; return the files."""
    if not re.match(NAME_PATTERN, name):
        raise GovernError(f"dataset name {name!r} must match {NAME_PATTERN}")
    declaration = declaration_path(root, name)
    if declaration.exists():
        raise GovernError(f"{declaration} exists: choose another name")
    profiles = _profiles(root, files)
    main, others = _main_and_joins(profiles, target)
    join_keys = {key for _, key in others}
    probe = Redactor(
        PiiPolicy.model_validate({"source": "probe", "columns": {"x": {"action": "keep"}}}),
        keys.hmac_key,
        keys.spacy_model,
    )
    for profile in profiles:
        classify(profile, target, join_keys, probe)
    spec = _declaration(name, profiles, main, others, target)
    written: list[Path] = []
    try:
        _write_all(root, spec, profiles, keys, written)
        load_contracts(load_dataset(declaration), root)
    except Exception:
        for path in written:  # leave no half-declared dataset behind, then report the cause
            if path.is_file():
                path.unlink()
        raise
    return written


def _declaration(
    name: str,
    profiles: list[SourceProfile],
    main: SourceProfile,
    others: list[tuple[SourceProfile, str]],
    target: str,
) -> dict[str, Any]:
    """The dataset declaration, with each source's path still the original file."""
    sql, numeric, categorical = propose_feature_sql(main, others, target)
    sources = {
        profile.name: {
            "path": str(Path("data") / "raw" / name / profile.path.name),
            **({"key": profile.key} if profile.key else {}),
            "max_reject_fraction": 0.05,
            "columns": profile.columns,
        }
        for profile in profiles
    }
    return {
        "name": name,
        "description": f"Declared by govern new-dataset from {len(profiles)} file(s); predicts "
        f"{target}.",
        "sources": sources,
        "features": {
            "name": f"{name}_features",
            **({"key": main.key} if main.key else {}),
            "sql": sql,
        },
        "model": {
            "name": f"{name}_model",
            "target": target,
            "numeric_features": numeric,
            "categorical_features": categorical,
            "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
            "params": {"max_iter": 200, "learning_rate": 0.05},
            "seed": 42,
            "metric": "roc_auc",
            "min_metric": 0.55,
        },
    }


def _write_all(
    root: Path,
    spec: dict[str, Any],
    profiles: list[SourceProfile],
    keys: RedactionKeys,
    written: list[Path],
) -> None:
    for profile in profiles:
        copy = root / spec["sources"][profile.name]["path"]
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(profile.path, copy)
        written.append(copy)
        path = policy_path(root, profile.name)
        path.write_text(_policy_yaml(profile.name, profile.rules), encoding="utf-8")
        written.append(path)
    declaration = declaration_path(root, spec["name"])
    declaration.write_text(
        "# Declared by `govern new-dataset`; edit freely.\n"
        + yaml.dump(spec, Dumper=_BlockDumper, sort_keys=False, width=100),
        encoding="utf-8",
    )
    written.append(declaration)
    _write_suites(root, DatasetSpec.model_validate(spec), keys, written)


def _write_json(path: Path, data: dict[str, Any], written: list[Path]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    written.append(path)


def _write_suites(
    root: Path, dataset: DatasetSpec, keys: RedactionKeys, written: list[Path]
) -> None:
    """Starter suites from the redacted sources and the feature table they give."""
    with duckdb.connect() as conn:
        conn.execute("CREATE SCHEMA redacted")
        for source, spec in dataset.sources.items():
            policy = load_policy(policy_path(root, source))
            ingest_to_table(conn, source, spec, root / spec.path, "_raw", "_quarantine")
            raw = conn.execute("SELECT * FROM _raw").df()
            redacted, _ = Redactor(policy, keys.hmac_key, keys.spacy_model).redact(raw)
            suite = propose_suite(source, redacted, policy, spec.key)
            _write_json(suite_path(root, source), suite, written)
            conn.register("_frame", redacted)
            conn.execute(f"CREATE TABLE {qualified('redacted', source)} AS SELECT * FROM _frame")
            conn.unregister("_frame")
        sql = render_feature_sql(dataset.features.sql, list(dataset.sources))
        features = conn.execute(sql).df()
    suite = propose_suite(dataset.features.name, features, None, dataset.features.key)
    _write_json(suite_path(root, dataset.features.name), suite, written)
