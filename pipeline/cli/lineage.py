"""``govern lineage``, ``reproduce`` and ``report``: a model version traced, rebuilt, audited."""

import argparse
import json
from pathlib import Path

from pipeline import settings
from pipeline.cli.common import EXIT_BLOCKED, Commands, hmac_key, load_bom, quiet_libraries

# `govern reproduce`: the model's sources were changed by an erasure since it was trained, so
# it cannot be rebuilt bit for bit (the verdict names the requests).
EXIT_ERASED = 3
# `govern reproduce`: a Delta table version the BOM recorded can no longer be read (vacuumed,
# or the table replaced), for no erasure the ledger knows: the verdict names table and version.
EXIT_VERSIONS_GONE = 4


def _erasures(bom: dict) -> list[dict]:
    """The erasure requests that changed this model version's training data."""
    from pipeline.erasure.ledger import erasures_of

    model = bom["model"]
    return erasures_of(settings.govern_home(), model["name"], str(model["version"]))


def register(commands: Commands) -> None:
    lineage = commands.add_parser("lineage", help="which data, cleaned how, produced a model")
    lineage.add_argument("model", help="MODEL, MODEL@VERSION or MODEL@ALIAS (default champion)")
    lineage.add_argument("--json", action="store_true")
    lineage.set_defaults(func=cmd_lineage)
    again = commands.add_parser(
        "reproduce",
        help="retrain a model version on the exact table versions its BOM recorded (Delta time "
        "travel) and compare data and metrics",
    )
    again.add_argument("model", help="MODEL@VERSION or MODEL@ALIAS")
    again.add_argument(
        "--rebuild",
        action="store_true",
        help="instead, rerun the whole pipeline in a scratch location from the recorded landing "
        "files (checks the pipeline still makes the model from its files; slower)",
    )
    again.add_argument("--json", action="store_true")
    again.set_defaults(func=cmd_reproduce)
    diff = commands.add_parser(
        "diff", help="why did a model change: code, configuration, data and drift between versions"
    )
    diff.add_argument("before", help="MODEL@VERSION or MODEL@ALIAS (the earlier one)")
    diff.add_argument("after", help="MODEL@VERSION or MODEL@ALIAS (the later one)")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(func=cmd_diff)
    report = commands.add_parser("report", help="write an audit report (Markdown and HTML)")
    report.add_argument("model", help="MODEL@VERSION or MODEL@ALIAS")
    report.add_argument("--out", help="folder (default $GOVERN_HOME/reports)")
    report.set_defaults(func=cmd_report)


def cmd_lineage(args: argparse.Namespace) -> int:
    quiet_libraries()
    from pipeline.lineage.tree import lineage_summary, lineage_tree

    bom = load_bom(args.model)
    erasures = _erasures(bom)
    if args.json:
        print(json.dumps({**lineage_summary(bom), "erasures": erasures}, indent=2))
    else:
        print(lineage_tree(bom, erasures))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    quiet_libraries()
    from pipeline.lineage.diff import diff_boms, format_diff
    from pipeline.training.tracking import load_profile

    boms = load_bom(args.before), load_bom(args.after)
    uri = settings.mlflow_tracking_uri()
    profiles = tuple(load_profile(uri, b["model"]["mlflow_run_id"]) for b in boms)
    result = diff_boms(*boms, profiles=profiles)
    print(json.dumps(result.as_dict(), indent=2, default=str) if args.json else format_diff(result))
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    quiet_libraries()
    key = hmac_key()
    from pipeline.cli.output import format_reproduction
    from pipeline.runs.reproduce import reproduce

    bom = load_bom(args.model)
    erasures = [e["request"] for e in _erasures(bom)]
    result = reproduce(bom, settings.project_root(), key, erasures, rebuild_from_files=args.rebuild)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        print(format_reproduction(result, bom))
    if result.erasures:
        return EXIT_ERASED
    if result.gone:
        return EXIT_VERSIONS_GONE
    return 0 if result.matches else EXIT_BLOCKED


def cmd_report(args: argparse.Namespace) -> int:
    quiet_libraries()
    from pipeline.erasure.ledger import erasure_events
    from pipeline.lineage.report import audit_markdown, markdown_to_html

    bom = load_bom(args.model)
    events = erasure_events(settings.govern_home(), bom["dataset"])
    out = Path(args.out) if args.out else settings.reports_dir()
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{bom['model']['name']}-v{bom['model']['version']}"
    markdown = audit_markdown(bom, events)
    (out / f"{stem}.md").write_text(markdown, encoding="utf-8")
    (out / f"{stem}.html").write_text(markdown_to_html(markdown, stem), encoding="utf-8")
    print(f"{out / stem}.md\n{out / stem}.html")
    return 0
