"""Answer "which data, cleaned how, produced this model?" from a model version's BOM.

``lineage_tree`` prints the chain from the model back to the source files' sha256;
``lineage_summary`` is the same chain as JSON.
"""

from typing import Any

from pipeline.naming import raw_asset, redacted_asset, source_assets


def _short(value: Any, length: int = 12) -> str:
    return str(value)[:length] if value else "?"


def _checks_line(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "no checks recorded"
    passed = sum(1 for c in checks if c["passed"])
    failed = [c["check"] for c in checks if not c["passed"]]
    line = f"{passed}/{len(checks)} checks passed"
    return line + (f" (not passed: {', '.join(failed)})" if failed else "")


def lineage_tree(bom: dict[str, Any], erasures: list[dict[str, Any]] | None = None) -> str:
    """A readable tree from the model version down to each source file's sha256; first, the
    erasures that changed its training data since (``erasures``, from the erasure ledger)."""
    model = bom["model"]
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in model["metrics"].items())
    lines = [
        f"{model['name']} v{model['version']} ({model['alias']}: {model['promotion_reason']})",
        f"  MLflow run {model['mlflow_run_id']}; Dagster run {bom['dagster']['run_id']}",
        f"  {model['estimator']} seed {model['seed']} params {model['params']}",
        f"  {metrics}",
    ]
    lines += [
        f"  trained on data later changed by erasure {e['request']} ({e['started_at']}"
        + (f", {e['reason']}" if e.get("reason") else "")
        + ")"
        for e in erasures or []
    ]
    features = next(k for k in bom["assets"] if k not in _source_assets(bom))
    facts = bom["assets"][features]
    lines.append(
        f"└─ {features}  data {_short(facts['data_version'])}  "
        f"code {_short(facts['code_version'])}  rows {facts['row_count']}  "
        f"[{_checks_line(bom['contracts'].get(features, []))}]"
    )
    sources = list(bom["sources"])
    for index, source in enumerate(sources):
        last = index == len(sources) - 1
        branch, pad = ("└─", "   ") if last else ("├─", "│  ")
        redacted_key, raw_key = redacted_asset(source), raw_asset(source)
        redacted = bom["assets"].get(redacted_key, {})
        red = bom["redaction"][source]
        lines.append(
            f"   {branch} {redacted_key}  data {_short(redacted.get('data_version'))}"
            f"  policy {red['policy']} sha256 {_short(red['policy_sha256'])}  "
            f"[{_checks_line(bom['contracts'].get(redacted_key, []))}]"
        )
        lines.append(f"   {pad}   entities redacted {red['entities_redacted']}")
        lines.append(f"   {pad}   residual PII: {residual_line(red.get('residual_pii'))}")
        raw = bom["assets"].get(raw_key, {})
        src = bom["sources"][source]
        lines.append(
            f"   {pad}└─ {raw_key}  data {_short(raw.get('data_version'))}  "
            f"rows in {src['rows_in']}, loaded {src['rows_loaded']}, quarantined "
            f"{src['rows_rejected']} {src['reject_reasons']}"
        )
        lines.append(f"   {pad}   └─ {src['path']}  sha256 {src['sha256']}")
    code = bom["code"]
    lines.append(
        f"code: git {code.get('git_commit')} (dirty: {code.get('git_dirty')}), "
        f"requirements.lock sha256 {_short(code.get('requirements_lock_sha256'), 16)}, "
        f"python {code.get('python')}"
    )
    return "\n".join(lines)


def _source_assets(bom: dict[str, Any]) -> set[str]:
    return set(source_assets(list(bom["sources"])))


def lineage_summary(bom: dict[str, Any]) -> dict[str, Any]:
    """The JSON form: the BOM's chain, source files first."""
    return {
        "model": bom["model"],
        "sources": {
            s: {
                "path": f["path"],
                "sha256": f["sha256"],
                "rows_in": f["rows_in"],
                "rows_loaded": f["rows_loaded"],
                "rows_rejected": f["rows_rejected"],
            }
            for s, f in bom["sources"].items()
        },
        "redaction": bom["redaction"],
        "assets": bom["assets"],
        "contracts": bom["contracts"],
        "declarations": bom["declarations"],
        "code": bom["code"],
        "dagster": bom["dagster"],
    }


def residual_line(residual: dict | None) -> str:
    """The verifier's verdict as recorded: rate, bound and budget, or that it was off."""
    if not residual:
        return "not recorded"
    if residual.get("residual_rate_upper_bound") is None:
        return f"verifier {residual.get('verifier')}: not measured"
    return (
        f"{residual['cells_flagged']} of {residual['cells_scanned']} cells flagged by "
        f"{residual['verifier']}; rate {residual['residual_rate']}, "
        f"{residual['confidence']:.0%} upper bound {residual['residual_rate_upper_bound']} "
        f"(budget {residual['max_residual_rate']})"
    )
