"""``govern new-dataset``: declare a dataset from its files, with no pipeline code.

Profiles each file, then writes:

- ``datasets/<name>.yaml``: sources with their ingest contracts, the feature SQL and the model,
- ``policies/<source>.yaml``: every column classified from its name and from a Presidio scan
  of its values. Guesses are flagged ``review`` for a person to confirm (``govern policy
  check`` lists them),
- ``expectations/<source>.json`` and ``expectations/<name>_features.json``: starter suites
  profiled from the redacted data,

and copies the files to ``data/raw/<name>/``. ``govern run --dataset <name>`` then works as is.
"""

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

from pipeline.declarations import DEFAULT_DATE_FORMATS, NAME_PATTERN, DatasetSpec, load_datasets
from pipeline.errors import GovernError
from pipeline.ingest import ingest_to_table
from pipeline.policy import PiiPolicy
from pipeline.profiling import propose_suite
from pipeline.redaction import Redactor
from pipeline.sql import quote_ident, quote_literal

_SAMPLE = 2000
_FREE_TEXT_LENGTH = 25
_SCAN_ENTITIES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE",
                  "IP_ADDRESS", "US_SSN"]
# Column names that say what a column holds, whatever its values look like.
_NAME_RULES: list[tuple[str, dict[str, Any]]] = [
    (r"(^|_)(ssn|social_security)", {"action": "drop", "entity": "US_SSN"}),
    (r"(^|_)(dob|birth|birthdate|date_of_birth)", {"action": "generalize", "to": "year",
                                                    "entity": "DATE_OF_BIRTH"}),
    (r"(^|_)(zip|zipcode|postcode|postal)", {"action": "generalize", "to": "prefix",
                                              "keep_chars": 3, "entity": "POSTCODE"}),
    (r"(^|_)(e?mail)", {"action": "drop", "entity": "EMAIL_ADDRESS"}),
    (r"(^|_)(phone|mobile|tel|telephone|fax)", {"action": "drop", "entity": "PHONE_NUMBER"}),
    (r"(^|_)(address|street)", {"action": "drop", "entity": "STREET_ADDRESS"}),
    (r"(^|_)(first_?name|last_?name|full_?name|surname|name|physician|doctor)",
     {"action": "drop", "entity": "PERSON"}),
    (r"(^|_)(ip|ip_address)$", {"action": "hash", "entity": "IP_ADDRESS"}),
    (r"(^|_)(card|card_number|iban|account)", {"action": "mask", "keep_last": 4,
                                                "entity": "FINANCIAL_ACCOUNT"}),
    (r"(^|_)(mrn|medical_record|insurance|policy_number|passport|license|licence)",
     {"action": "hash", "entity": "IDENTIFIER"}),
]


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings (the feature SQL) as readable ``|`` blocks."""


_BlockDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


@dataclass
class SourceProfile:
    name: str
    path: Path
    columns: dict[str, str]
    frame: pd.DataFrame
    key: str | None
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)


def _column_type(duckdb_type: str) -> str:
    upper = duckdb_type.upper()
    if upper in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
        return "BIGINT"
    if upper in ("DOUBLE", "FLOAT", "REAL") or upper.startswith("DECIMAL"):
        return "DOUBLE"
    if upper in ("DATE", "BOOLEAN"):
        return upper
    if upper.startswith("TIMESTAMP"):
        return "TIMESTAMP"
    return "VARCHAR"


def _read(path: Path) -> tuple[dict[str, str], pd.DataFrame]:
    """Columns with sniffed types, and the rows DuckDB can read, for profiling."""
    if not path.is_file():
        raise GovernError(f"{path}: file not found")
    reader = (f"read_parquet({quote_literal(str(path))})" if path.suffix == ".parquet" else
              f"read_csv({quote_literal(str(path))}, store_rejects=true, sample_size=-1)")
    with duckdb.connect() as conn:
        described = conn.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        frame = conn.execute(f"SELECT * FROM {reader}").df()
    columns = {}
    for name, duckdb_type, *_ in described:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise GovernError(f"{path}: column {name!r} is not a plain identifier; rename it")
        columns[name] = _column_type(duckdb_type)
        if columns[name] == "VARCHAR":
            columns[name] = _refine_text_type(frame[name])
    return columns, frame


def _refine_text_type(series: pd.Series) -> str:
    """A text column that is numbers or dates but for a few dirty cells: type it as such.

    DuckDB's sniffer falls back to VARCHAR for a column with one bad value; the ingest
    contract quarantines those rows instead, and the column keeps its real type.
    """
    values = series.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return "VARCHAR"
    numbers = pd.to_numeric(values, errors="coerce")
    if values.str.match(r"^0\d").any():
        return "VARCHAR"  # leading zeros (zip codes, phone numbers): text, not a number
    if numbers.notna().mean() >= 0.95:
        whole = numbers.dropna()
        return "BIGINT" if (whole == whole.round()).all() and not values.str.contains(
            r"[.eE]").any() else "DOUBLE"
    parsed = pd.Series(False, index=values.index)
    for fmt in DEFAULT_DATE_FORMATS:
        parsed |= pd.to_datetime(values, format=fmt, errors="coerce").notna()
    return "DATE" if parsed.mean() >= 0.9 else "VARCHAR"


def _guess_key(columns: dict[str, str], frame: pd.DataFrame) -> str | None:
    for name in columns:
        if re.search(r"(^|_)id$", name.lower()) and frame[name].notna().all() and \
                frame[name].is_unique:
            return name
    return None


def _source_name(stem: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", stem.lower()).strip("_") or "source"
    name = name if re.match(NAME_PATTERN, name) else f"s_{name}"
    base, counter = name, 2
    while name in taken:
        name, counter = f"{base}_{counter}", counter + 1
    taken.add(name)
    return name


def classify(profile: SourceProfile, target: str, join_keys: set[str],
             redactor: Redactor) -> None:
    """A policy rule for every column, from its name first, then from a scan of its values."""
    for column, column_type in profile.columns.items():
        lowered = column.lower()
        if column == target:
            profile.rules[column] = {"action": "keep"}
            continue
        if column in join_keys or column == profile.key or re.search(r"(^|_)id$", lowered):
            profile.rules[column] = {"action": "hash", "entity": "IDENTIFIER"}
            continue
        by_name = next((rule for pattern, rule in _NAME_RULES if re.search(pattern, lowered)),
                       None)
        if by_name is not None:
            rule = dict(by_name)
            if rule["action"] == "generalize" and rule["to"] == "year" and \
                    column_type not in ("DATE", "TIMESTAMP"):
                rule = {"action": "drop", "entity": rule["entity"],
                        "review": "a birth date that is not typed as a date: dropped"}
            profile.rules[column] = rule
            continue
        if column_type != "VARCHAR":
            rule = {"action": "keep"}
            if column_type in ("DATE", "TIMESTAMP"):
                rule["review"] = ("dates tied to a person are identifiers under HIPAA Safe "
                                  "Harbor: consider generalize to year")
            profile.rules[column] = rule
            continue
        profile.rules[column] = _classify_text(profile.frame[column], redactor)
    people = [c for c, r in profile.rules.items() if r.get("entity") == "PERSON"]
    contacts = [c for c, r in profile.rules.items()
                if r.get("entity") in ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER")]
    for rule in profile.rules.values():
        if rule["action"] == "scan":
            rule.update({k: v for k, v in (("redact_row_values_from", contacts),
                                           ("known_names_from", people)) if v})


def _classify_text(series: pd.Series, redactor: Redactor) -> dict[str, Any]:
    values = [str(v) for v in series.dropna().unique()[:_SAMPLE] if str(v).strip()]
    if not values:
        return {"action": "drop", "review": "empty in the sample: dropped until classified"}
    hits = redactor.scan_texts(values, _SCAN_ENTITIES, 0.4)
    with_hits = [h for h in hits if h]
    lengths = [len(v) for v in values]
    mean_length = sum(lengths) / len(lengths)
    whole = [h for v, h in zip(values, hits, strict=True)
             if h and sum(x.end - x.start for x in h) >= 0.6 * len(v.strip())]
    if whole and len(whole) >= 0.5 * len(values):
        entity = max(_SCAN_ENTITIES, key=lambda e: sum(1 for h in whole if h[0].entity == e))
        return {"action": "drop", "entity": entity}
    if mean_length >= _FREE_TEXT_LENGTH or with_hits:
        return {"action": "scan", "entities": list(_SCAN_ENTITIES),
                **({} if with_hits else {"review": "long text with no entity in the sample: "
                                                   "scanned to be safe"})}
    distinct = series.nunique(dropna=True)
    if distinct <= 50 or distinct <= 0.05 * len(series):
        return {"action": "keep"}
    return {"action": "hash", "review": "high-cardinality short text with no entity found: "
                                        "hashed until someone confirms it is not identifying"}


def _policy_yaml(source: str, rules: dict[str, dict[str, Any]]) -> str:
    lines = [f"# PII policy for source {source!r}, proposed by `govern new-dataset`.",
             "# Columns marked `review` are guesses: confirm or change each, then delete its",
             "# `review` key. `govern policy check` lists what is left.",
             f"source: {source}", "language: en", "", "columns:"]
    for column, rule in rules.items():
        flow = yaml.safe_dump(rule, default_flow_style=True, sort_keys=False,
                              width=1000).strip()
        lines.append(f"  {column}: {flow}")
    return "\n".join(lines) + "\n"


def _feature_sql(main: SourceProfile, others: list[tuple[SourceProfile, str]], target: str
                 ) -> tuple[str, list[str], list[str]]:
    """Feature SQL over the redacted tables, and its numeric and categorical features."""
    numeric, categorical, select = [], [], []
    for column, column_type in main.columns.items():
        rule = main.rules[column]
        if column == target or rule["action"] != "keep":
            continue
        if column_type in ("BIGINT", "DOUBLE", "BOOLEAN"):
            select.append(f"CAST(m.{quote_ident(column)} AS DOUBLE) AS {quote_ident(column)}")
            numeric.append(column)
        elif column_type == "VARCHAR":
            select.append(f"m.{quote_ident(column)}")
            categorical.append(column)
    joins = []
    for index, (profile, join_key) in enumerate(others, start=1):
        alias, count = f"a{index}", f"n_{profile.name}"
        aggregates = [f"count(*) AS {quote_ident(count)}"]
        numeric.append(count)
        select.append(f"coalesce({alias}.{quote_ident(count)}, 0) AS {quote_ident(count)}")
        for column, column_type in profile.columns.items():
            if column_type in ("BIGINT", "DOUBLE") and profile.rules[column]["action"] == "keep":
                mean = f"avg_{profile.name}_{column}"
                aggregates.append(f"avg({quote_ident(column)}) AS {quote_ident(mean)}")
                select.append(f"{alias}.{quote_ident(mean)}")
                numeric.append(mean)
        joins.append(f"LEFT JOIN (SELECT {quote_ident(join_key)}, {', '.join(aggregates)} "
                     f"FROM {{{profile.name}}} GROUP BY {quote_ident(join_key)}) AS {alias} "
                     f"USING ({quote_ident(join_key)})")
    key = [f"m.{quote_ident(main.key)}"] if main.key else []
    columns = ",\n  ".join([*key, *select, f"CAST(m.{quote_ident(target)} AS INTEGER) AS "
                                           f"{quote_ident(target)}"])
    sql = (f"SELECT\n  {columns}\nFROM {{{main.name}}} AS m\n" + "\n".join(joins) +
           f"\nWHERE m.{quote_ident(target)} IS NOT NULL\n")
    return sql, numeric, categorical


def scaffold_dataset(root: Path, name: str, files: list[Path], target: str, hmac_key: bytes,
                     spacy_model: str) -> list[Path]:
    """Write the declaration, policies, suites and data for a new dataset; return the files."""
    if not re.match(NAME_PATTERN, name):
        raise GovernError(f"dataset name {name!r} must match {NAME_PATTERN}")
    declaration = root / "datasets" / f"{name}.yaml"
    if declaration.exists():
        raise GovernError(f"{declaration} exists: choose another name")
    taken = {s for d in load_datasets(root) for s in d.sources} | {
        p.stem for p in (root / "policies").glob("*.yaml")}
    profiles = []
    for path in files:
        columns, frame = _read(path)
        profiles.append(SourceProfile(_source_name(path.stem, taken), path, columns, frame,
                                      _guess_key(columns, frame)))
    mains = [p for p in profiles if target in p.columns]
    if len(mains) != 1:
        raise GovernError(f"target column {target!r} must be in exactly one source; found in "
                          f"{[p.name for p in mains] or 'none'}")
    main = mains[0]
    values = set(main.frame[target].dropna().unique().tolist())
    if not values <= {0, 1} or len(values) < 2:
        raise GovernError(f"target {target!r} must be binary 0/1 (found "
                          f"{sorted(map(str, values))[:5]})")
    others = []
    for profile in profiles:
        if profile is main:
            continue
        shared = [c for c in profile.columns if c in main.columns and c != target]
        if not shared:
            raise GovernError(f"{profile.path}: no column shared with {main.path} to join on")
        others.append((profile, shared[0]))
    join_keys = {key for _, key in others}
    probe = Redactor(PiiPolicy.model_validate({"source": "probe", "columns": {
        "x": {"action": "keep"}}}), hmac_key, spacy_model)
    for profile in profiles:
        classify(profile, target, join_keys, probe)
    sql, numeric, categorical = _feature_sql(main, others, target)
    written: list[Path] = []
    try:
        _write_all(root, name, profiles, main, sql, numeric, categorical, target, hmac_key,
                   spacy_model, written)
        from assets.factory import build_dataset_definitions
        from pipeline.declarations import load_dataset

        build_dataset_definitions(load_dataset(declaration), root)
    except Exception:
        for path in written:  # leave no half-declared dataset behind, then report the cause
            if path.is_file():
                path.unlink()
        raise
    return written


def _write_all(root: Path, name: str, profiles: list[SourceProfile], main: SourceProfile,
               sql: str, numeric: list[str], categorical: list[str], target: str,
               hmac_key: bytes, spacy_model: str, written: list[Path]) -> None:
    data_dir = root / "data" / "raw" / name
    data_dir.mkdir(parents=True, exist_ok=True)
    sources: dict[str, Any] = {}
    for profile in profiles:
        copy = data_dir / profile.path.name
        shutil.copyfile(profile.path, copy)
        written.append(copy)
        sources[profile.name] = {"path": str(copy.relative_to(root)),
                                 **({"key": profile.key} if profile.key else {}),
                                 "max_reject_fraction": 0.05, "columns": profile.columns}
        policy_path = root / "policies" / f"{profile.name}.yaml"
        policy_path.write_text(_policy_yaml(profile.name, profile.rules), encoding="utf-8")
        written.append(policy_path)
    spec = {
        "name": name,
        "description": f"Declared by govern new-dataset from {len(profiles)} file(s); predicts "
                       f"{target}.",
        "sources": sources,
        "features": {"name": f"{name}_features", **({"key": main.key} if main.key else {}),
                     "sql": sql},
        "model": {"name": f"{name}_model", "target": target, "numeric_features": numeric,
                  "categorical_features": categorical,
                  "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                  "params": {"max_iter": 200, "learning_rate": 0.05}, "seed": 42,
                  "metric": "roc_auc", "min_metric": 0.55},
    }
    declaration = root / "datasets" / f"{name}.yaml"
    declaration.write_text("# Declared by `govern new-dataset`; edit freely.\n" +
                           yaml.dump(spec, Dumper=_BlockDumper, sort_keys=False, width=100),
                           encoding="utf-8")
    written.append(declaration)
    dataset = DatasetSpec.model_validate(spec)
    _write_suites(root, dataset, profiles, hmac_key, spacy_model, written)


def _write_suites(root: Path, dataset: DatasetSpec, profiles: list[SourceProfile],
                  hmac_key: bytes, spacy_model: str, written: list[Path]) -> None:
    """Starter suites from the redacted sources and the feature table they give."""
    from assets.features import render_feature_sql
    from pipeline.policy import load_policy

    with duckdb.connect() as conn:
        conn.execute("CREATE SCHEMA redacted")
        for profile in profiles:
            spec = dataset.sources[profile.name]
            policy = load_policy(root / "policies" / f"{profile.name}.yaml")
            ingest_to_table(conn, profile.name, spec, root / spec.path, "_raw", "_quarantine")
            raw = conn.execute("SELECT * FROM _raw").df()
            redacted, _ = Redactor(policy, hmac_key, spacy_model).redact(raw)
            suite = propose_suite(profile.name, redacted, policy, spec.key)
            path = root / "expectations" / f"{profile.name}.json"
            path.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
            written.append(path)
            conn.register("_frame", redacted)
            conn.execute(f"CREATE TABLE redacted.{quote_ident(profile.name)} AS "
                         "SELECT * FROM _frame")
            conn.unregister("_frame")
        features = conn.execute(render_feature_sql(dataset)).df()
    suite = propose_suite(dataset.features.name, features, None, dataset.features.key)
    path = root / "expectations" / f"{dataset.features.name}.json"
    path.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    written.append(path)

