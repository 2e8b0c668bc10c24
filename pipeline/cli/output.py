"""How commands print their results: plain text for people (``--json`` prints the data as is).

Everything printed here comes from summaries and reports that hold counts, names, hashes and
verdicts, never a data value.
"""

from pipeline.naming import policy_file


def _asset_detail(facts: dict) -> str:
    if "rows_published" in facts:
        return (
            f"{facts['rows_published']} rows published of {facts['rows_in']}, "
            f"{facts['rows_quarantined']} quarantined"
        )
    if "rows_loaded" in facts:
        return (
            f"{facts['rows_loaded']} rows loaded of {facts['rows_in']}, "
            f"{facts['rows_rejected']} quarantined"
        )
    if "dagster/row_count" in facts:
        return f"{facts['dagster/row_count']} rows"
    if "registered_version" in facts:
        return f"registered as {facts['registered_model']} v{facts['registered_version']}"
    return ""


def _gate_line(gate) -> str:
    verdict = "passed" if gate.passed else ("BLOCKED" if gate.blocking else "WARNING")
    name = f"{gate.asset} / {gate.check}"
    text = f"  {name:<70} {verdict}"
    if not gate.passed and gate.contract:
        text += f"  ({gate.contract})"
    if not gate.passed:
        text += f"\n      {gate.summary}"
    return text


def format_run_summary(summary) -> str:
    """A run's assets with their rows, every gate's verdict, the model and any failure."""
    return _recovered(summary.recovered_runs) + _run_text(summary)


def _recovered(run_ids: list[str]) -> str:
    return "".join(
        f"run {run_id} was left unfinished by a process that is gone (killed or crashed): "
        "marked failed\n"
        for run_id in run_ids
    )


def _run_text(summary) -> str:
    if summary.up_to_date:
        model = summary.model
        serving = f": model {model['name']} version {model['version']}" if model else ""
        return (
            f"dataset {summary.dataset} is up to date{serving}. No landing file, code, policy "
            "or contract changed since its last run; nothing was run and no model version "
            "registered (--force reruns everything).\n"
        )
    lines = [f"dataset {summary.dataset}  (Dagster run {summary.run_id})", "", "assets:"]
    for asset in summary.assets:
        lines.append(f"  {asset.asset:<28} {asset.status:<13} {_asset_detail(asset.facts)}")
    lines += ["", "gates:", *(_gate_line(gate) for gate in summary.gates)]
    if summary.model:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in summary.model["metrics"].items())
        lines += [
            "",
            f"model: {summary.model['name']} version {summary.model['version']} "
            f"(MLflow run {summary.model['mlflow_run_id']})",
            f"  {metrics}",
        ]
    if summary.failures:
        lines += ["", "FAILED:"] + [f"  {failure}" for failure in summary.failures]
    lines.append("")
    return "\n".join(lines)


def format_file_redaction(output: str, result) -> str:
    """What ``govern redact`` wrote, and what it changed per column."""
    lines = [
        f"{output}: {result.rows_written} rows written of {result.rows_in} read; "
        f"{result.rows_quarantined} unreadable lines left out {result.quarantine_reasons}",
        f"residual-PII gate: passed ({result.residual.describe()})",
        f"{'column':<20} {'action':<11} {'changed':>8}  entities found",
    ]
    for name, column in result.report.columns.items():
        found = ", ".join(f"{k} {v}" for k, v in column.entities_found.items())
        lines.append(f"{name:<20} {column.action:<11} {column.values_changed:>8}  {found}")
    return "\n".join(lines)


def format_policy_check(
    problems: dict[str, list[str]], to_review: dict[str, dict[str, str]]
) -> str:
    """Per policy: ok, to review (with each flagged column), or what needs attention."""
    lines = []
    for source, issues in problems.items():
        pending = to_review.get(source, {})
        status = "needs attention" if issues else ("to review" if pending else "ok")
        lines.append(f"{policy_file(source)}: {status}")
        lines += [f"  - {issue}" for issue in issues]
        lines += [f"  - review {column}: {why}" for column, why in pending.items()]
    return "\n".join(lines)


def format_reproduction(result, bom: dict) -> str:
    """The verdict of ``govern reproduce`` and every difference, outputs first."""
    lines = [_reproduction_verdict(result, bom)]
    if result.gone:
        lines += _gone_versions(result)
    for title, diffs in (
        ("differs from the recorded output", result.output_differences),
        ("changed since the model was built", result.input_differences),
    ):
        if diffs:
            lines += ["", f"{title}:"]
            lines += [f"  {d.what}: recorded {d.recorded}, now {d.now}" for d in diffs]
    return "\n".join(lines)


def _reproduction_verdict(result, bom: dict) -> str:
    head = f"{result.model} v{result.version}"
    metrics = len(bom["model"]["metrics"])
    if result.erasures:
        return (
            f"{head}: not reproducible bit for bit: sources changed by erasure "
            f"{', '.join(result.erasures)} (not retrained)"
        )
    if result.gone:
        return f"{head}: CANNOT REPRODUCE: recorded table versions are gone (not retrained)"
    verdict = "MATCH" if result.matches else "MISMATCH"
    if result.method == "rebuild":
        return (
            f"{head}: {verdict}: rebuilt in a scratch location from the landing files, "
            f"{len(bom['assets'])} data versions and {metrics} metrics compared"
        )
    versions = result.rebuilt.get("table_versions", {})
    return (
        f"{head}: {verdict}: retrained on the recorded table versions (Delta time travel), "
        f"{len(versions)} table versions read and {metrics} metrics compared"
    )


def _gone_versions(result) -> list[str]:
    lines = ["", "gone:"]
    for gone in result.gone:
        lines.append(
            f"  {gone['table']} version {gone['version']} (asset {gone['asset']}) at "
            f"{gone['uri']}: {gone['cause']}"
        )
    lines += [
        "",
        "what to do: this model's exact training data can no longer be read back. To check "
        "that the pipeline still makes it from its landing files, run "
        f"`govern reproduce {result.model}@{result.version} --rebuild`. To keep time travel "
        "for the models you serve, keep their table versions: vacuum with a retention longer "
        "than a model's life (delta.deletedFileRetentionDuration, delta.logRetentionDuration).",
    ]
    return lines
