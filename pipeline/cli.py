"""``govern``: run the governed pipeline, make sample data, serve the UI.

    govern run [--dataset NAME] [--source NAME=PATH] [--json]
    govern redact --source NAME INPUT OUTPUT
    govern policy check
    govern contract init --source NAME [--force]
    govern new-dataset NAME --source PATH [--source PATH ...] --target COLUMN
    govern lineage MODEL[@VERSION|@ALIAS] [--json]
    govern reproduce MODEL@VERSION [--json]
    govern report MODEL@VERSION [--out DIR]
    govern generate (--customers N | --patients N) [--out DIR] [--seed N]
    govern ui [--port N]
"""

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path

from pipeline import settings
from pipeline.errors import GovernError

EXIT_BLOCKED = 1
EXIT_USAGE = 2


def _parse_sources(values: list[str]) -> dict[str, Path]:
    sources = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise GovernError(f"--source expects NAME=PATH, got {value!r}")
        sources[name] = Path(path)
    return sources


def _quiet_libraries() -> None:
    warnings.filterwarnings("ignore")
    for name in ("mlflow", "great_expectations", "presidio-analyzer", "presidio-anonymizer",
                 "alembic", "dagster"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _hmac_key() -> bytes:
    """The key for ``hash`` columns, from ``GOVERN_HMAC_KEY``; warns on the public dev key."""
    from pipeline.resources import DEV_HMAC_KEY

    key = os.environ.get("GOVERN_HMAC_KEY")
    if not key:
        raise GovernError("GOVERN_HMAC_KEY is not set: it keys the HMAC tokens of 'hash' "
                          "columns. Set it to a secret (make run sets a development key).")
    if key == DEV_HMAC_KEY:
        print("warning: GOVERN_HMAC_KEY is the public development key; tokens are not "
              "secret. Set your own key before running on real data.", file=sys.stderr)
    return key.encode("utf-8")


def cmd_run(args: argparse.Namespace) -> int:
    _quiet_libraries()
    _hmac_key()  # fail early and warn; the Dagster resource reads it from the environment
    from pipeline.declarations import load_datasets
    from pipeline.definitions import build_definitions
    from pipeline.instance import local_instance
    from pipeline.runner import run_dataset

    root = settings.project_root()
    datasets = load_datasets(root)
    if args.dataset:
        unknown = sorted(set(args.dataset) - {d.name for d in datasets})
        if unknown:
            raise GovernError(f"unknown dataset(s) {unknown}; declared: "
                              f"{[d.name for d in datasets]}")
        datasets = [d for d in datasets if d.name in args.dataset]
    sources = _parse_sources(args.source)
    known_sources = {s for d in datasets for s in d.sources}
    if unknown := sorted(set(sources) - known_sources):
        raise GovernError(f"--source names unknown source(s) {unknown}; known: "
                          f"{sorted(known_sources)}")
    defs = build_definitions(root)
    instance = local_instance()
    summaries = [run_dataset(defs, dataset, instance, sources) for dataset in datasets]
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2, default=str))
    else:
        for summary in summaries:
            print(_format_summary(summary))
    return 0 if all(s.success for s in summaries) else EXIT_BLOCKED


def _format_summary(summary) -> str:
    lines = [f"dataset {summary.dataset}  (Dagster run {summary.run_id})", "", "assets:"]
    for asset in summary.assets:
        facts = asset.facts
        detail = ""
        if "rows_in" in facts:
            detail = (f"{facts['rows_loaded']} rows loaded of {facts['rows_in']}, "
                      f"{facts['rows_rejected']} quarantined")
        elif "dagster/row_count" in facts:
            detail = f"{facts['dagster/row_count']} rows"
        elif "registered_version" in facts:
            detail = f"registered as {facts['registered_model']} v{facts['registered_version']}"
        lines.append(f"  {asset.asset:<28} {asset.status:<13} {detail}")
    lines += ["", "gates:"]
    for gate in summary.gates:
        if not gate.blocking and gate.passed:
            verdict = "passed"
        else:
            verdict = "passed" if gate.passed else ("BLOCKED" if gate.blocking else "WARNING")
        name = f"{gate.asset} / {gate.check}"
        text = f"  {name:<70} {verdict}"
        if not gate.passed and gate.contract:
            text += f"  ({gate.contract})"
        if not gate.passed:
            text += f"\n      {gate.summary}"
        lines.append(text)
    if summary.model:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in summary.model["metrics"].items())
        lines += ["", f"model: {summary.model['name']} version {summary.model['version']} "
                      f"(MLflow run {summary.model['mlflow_run_id']})", f"  {metrics}"]
    if summary.failures:
        lines += ["", "FAILED:"] + [f"  {failure}" for failure in summary.failures]
    lines.append("")
    return "\n".join(lines)


def cmd_redact(args: argparse.Namespace) -> int:
    _quiet_libraries()
    key = _hmac_key()
    from tqdm import tqdm

    from pipeline.declarations import load_datasets
    from pipeline.redact_file import redact_file
    from pipeline.redaction import configured_spacy_model

    root = settings.project_root()
    model = configured_spacy_model()
    with tqdm(desc="scanning free text", unit=" texts", file=sys.stderr, mininterval=0.5,
              disable=None) as bar:
        result = redact_file(load_datasets(root), root, args.source, Path(args.input),
                             Path(args.output), key, model,
                             progress=bar.update)
    print(f"{args.output}: {result.rows_written} rows written of {result.rows_in} read; "
          f"{result.rows_quarantined} unreadable lines left out {result.quarantine_reasons}")
    print(f"residual-PII gate: passed ({result.residual.cells_scanned} distinct cells re-scanned)")
    print(f"{'column':<20} {'action':<11} {'changed':>8}  entities found")
    for name, column in result.report.columns.items():
        found = ", ".join(f"{k} {v}" for k, v in column.entities_found.items())
        print(f"{name:<20} {column.action:<11} {column.values_changed:>8}  {found}")
    return 0


def cmd_policy_check(args: argparse.Namespace) -> int:
    from pipeline.declarations import load_datasets
    from pipeline.policy_check import check_policies, reviews

    datasets, root = load_datasets(settings.project_root()), settings.project_root()
    problems = check_policies(datasets, root)
    to_review = reviews(datasets, root)
    for source, issues in problems.items():
        pending = to_review.get(source, {})
        status = "needs attention" if issues else ("to review" if pending else "ok")
        print(f"policies/{source}.yaml: {status}")
        for issue in issues:
            print(f"  - {issue}")
        for column, why in pending.items():
            print(f"  - review {column}: {why}")
    return 0 if not any(problems.values()) else EXIT_BLOCKED


def cmd_contract_init(args: argparse.Namespace) -> int:
    _quiet_libraries()
    key = _hmac_key()
    from pipeline.contracts import load_suite, validate
    from pipeline.declarations import load_datasets
    from pipeline.policy import load_policy
    from pipeline.profiling import propose_suite
    from pipeline.redact_file import find_source, load_and_redact
    from pipeline.redaction import configured_spacy_model

    root = settings.project_root()
    datasets = load_datasets(root)
    spec = find_source(datasets, args.source).sources[args.source]
    target = root / "expectations" / f"{args.source}.json"
    if target.exists() and not args.force:
        raise GovernError(f"{target} exists; review it, or pass --force to replace it")
    model = configured_spacy_model()
    result, redacted = load_and_redact(datasets, root, args.source, root / spec.path,
                                       key, model)
    suite = propose_suite(args.source, redacted, load_policy(
        root / "policies" / f"{args.source}.yaml"), spec.key)
    target.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    failed = [r.clause.check_name for r in validate(load_suite(target), redacted)
              if not r.success]
    print(f"{target.relative_to(root)}: {len(suite['expectations'])} expectations proposed "
          f"from {result.rows_written} redacted rows; review them before relying on them")
    if failed:
        print(f"warning: the profiled data fails {failed}", file=sys.stderr)
    return 0


def cmd_new_dataset(args: argparse.Namespace) -> int:
    _quiet_libraries()
    key = _hmac_key()
    from pipeline.redaction import configured_spacy_model
    from pipeline.scaffold import scaffold_dataset

    root = settings.project_root()
    model = configured_spacy_model()
    written = scaffold_dataset(root, args.name, [Path(p) for p in args.source], args.target,
                               key, model)
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    print(f"\nnext: govern policy check   (review the flagged columns)\n"
          f"      govern run --dataset {args.name}")
    return 0


def _bom(reference: str) -> dict:
    from pipeline.tracking import load_bom

    return load_bom(settings.mlflow_tracking_uri(), reference)


def cmd_lineage(args: argparse.Namespace) -> int:
    _quiet_libraries()
    from pipeline.lineage import lineage_summary, lineage_tree

    bom = _bom(args.model)
    print(json.dumps(lineage_summary(bom), indent=2) if args.json else lineage_tree(bom))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    _quiet_libraries()
    key = _hmac_key()
    from pipeline.reproduce import reproduce

    bom = _bom(args.model)
    result = reproduce(bom, settings.project_root(), key)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
        return 0 if result.matches else EXIT_BLOCKED
    verdict = "MATCH" if result.matches else "MISMATCH"
    print(f"{result.model} v{result.version}: {verdict}: rebuilt in a scratch location, "
          f"{len(bom['assets'])} data versions and {len(bom['model']['metrics'])} metrics "
          "compared")
    for title, diffs in (("differs from the recorded output", result.output_differences),
                         ("changed since the model was built", result.input_differences)):
        if diffs:
            print(f"\n{title}:")
            for diff in diffs:
                print(f"  {diff.what}: recorded {diff.recorded}, now {diff.now}")
    return 0 if result.matches else EXIT_BLOCKED


def cmd_report(args: argparse.Namespace) -> int:
    _quiet_libraries()
    from pipeline.lineage import audit_markdown, markdown_to_html

    bom = _bom(args.model)
    out = Path(args.out) if args.out else settings.reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{bom['model']['name']}-v{bom['model']['version']}"
    markdown = audit_markdown(bom)
    (out / f"{stem}.md").write_text(markdown, encoding="utf-8")
    (out / f"{stem}.html").write_text(markdown_to_html(markdown, stem), encoding="utf-8")
    print(f"{out / stem}.md\n{out / stem}.html")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    if (args.customers is None) == (args.patients is None):
        raise GovernError("pass --customers N (churn sample) or --patients N (readmission)")
    if args.customers is not None:
        from pipeline.sample_data import DEFAULT_SEED, write_sample

        out = args.out or settings.project_root() / "data" / "raw"
        paths = write_sample(Path(out), args.customers, args.seed or DEFAULT_SEED)
    else:
        from pipeline.sample_health import DEFAULT_SEED, write_sample

        out = args.out or settings.project_root() / "data" / "raw" / "readmission"
        paths = write_sample(Path(out), args.patients, args.seed or DEFAULT_SEED)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from pipeline.instance import ensure_dagster_home

    ensure_dagster_home()
    workspace = settings.project_root() / "workspace.yaml"
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", "127.0.0.1",
               "-p", str(args.port)]
    print(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    os.execv(sys.executable, command)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govern", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="materialize every asset of the declared datasets")
    run.add_argument("--dataset", action="append", default=[], help="only this dataset")
    run.add_argument("--source", action="append", default=[], metavar="NAME=PATH",
                     help="read this file for source NAME instead of the declared one")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.set_defaults(func=cmd_run)
    redact = commands.add_parser("redact", help="apply a source's PII policy to a CSV/Parquet "
                                 "file and write the redacted file")
    redact.add_argument("--source", required=True, help="whose policy and contract to apply")
    redact.add_argument("input")
    redact.add_argument("output", help="a .csv or .parquet path")
    redact.set_defaults(func=cmd_redact)
    policy = commands.add_parser("policy", help="PII policies")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_commands.add_parser("check", help="validate every policy against its "
                                       "source's columns")
    check.set_defaults(func=cmd_policy_check)
    contract = commands.add_parser("contract", help="data contracts (GX suites)")
    contract_commands = contract.add_subparsers(dest="contract_command", required=True)
    init = contract_commands.add_parser("init", help="profile a source after redaction and "
                                        "write a starter suite")
    init.add_argument("--source", required=True)
    init.add_argument("--force", action="store_true", help="replace an existing suite")
    init.set_defaults(func=cmd_contract_init)
    scaffold = commands.add_parser("new-dataset", help="declare a dataset from its files: "
                                   "declaration, policies, suites, data")
    scaffold.add_argument("name")
    scaffold.add_argument("--source", action="append", required=True, metavar="PATH",
                          help="a CSV or Parquet file (repeat for several sources)")
    scaffold.add_argument("--target", required=True, help="the binary column to predict")
    scaffold.set_defaults(func=cmd_new_dataset)
    lineage = commands.add_parser("lineage", help="which data, cleaned how, produced a model")
    lineage.add_argument("model", help="MODEL, MODEL@VERSION or MODEL@ALIAS (default champion)")
    lineage.add_argument("--json", action="store_true")
    lineage.set_defaults(func=cmd_lineage)
    again = commands.add_parser("reproduce", help="rebuild a model version from its BOM in a "
                                "scratch location and compare")
    again.add_argument("model", help="MODEL@VERSION or MODEL@ALIAS")
    again.add_argument("--json", action="store_true")
    again.set_defaults(func=cmd_reproduce)
    report = commands.add_parser("report", help="write an audit report (Markdown and HTML)")
    report.add_argument("model", help="MODEL@VERSION or MODEL@ALIAS")
    report.add_argument("--out", help="folder (default $GOVERN_HOME/reports)")
    report.set_defaults(func=cmd_report)
    generate = commands.add_parser("generate", help="write a synthetic sample: churn "
                                   "(--customers) or readmission (--patients)")
    generate.add_argument("--customers", type=int, help="churn sample: customers.csv, "
                          "transactions.csv into data/raw")
    generate.add_argument("--patients", type=int, help="readmission sample: patients.csv, "
                          "encounters.csv into data/raw/readmission")
    generate.add_argument("--out", help="folder to write to")
    generate.add_argument("--seed", type=int, help="default: the sample's own seed")
    generate.set_defaults(func=cmd_generate)
    ui = commands.add_parser("ui", help="serve the Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except GovernError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
