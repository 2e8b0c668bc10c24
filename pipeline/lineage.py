"""Answer "which data, cleaned how, produced this model?" from a model version's BOM.

``lineage_tree`` prints the chain from the model back to the source files; ``audit_report``
renders the same facts as Markdown and HTML for a regulator.
"""

import html
from typing import Any


def _short(value: Any, length: int = 12) -> str:
    return str(value)[:length] if value else "?"


def _checks_line(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "no checks recorded"
    passed = sum(1 for c in checks if c["passed"])
    failed = [c["check"] for c in checks if not c["passed"]]
    line = f"{passed}/{len(checks)} checks passed"
    return line + (f" (not passed: {', '.join(failed)})" if failed else "")


def lineage_tree(bom: dict[str, Any]) -> str:
    """A readable tree from the model version down to each source file's sha256."""
    model = bom["model"]
    metrics = ", ".join(f"{k} {v:.4f}" for k, v in model["metrics"].items())
    lines = [
        f"{model['name']} v{model['version']} ({model['alias']}: {model['promotion_reason']})",
        f"  MLflow run {model['mlflow_run_id']}; Dagster run {bom['dagster']['run_id']}",
        f"  {model['estimator']} seed {model['seed']} params {model['params']}",
        f"  {metrics}",
    ]
    features = next(k for k in bom["assets"] if k not in _source_assets(bom))
    facts = bom["assets"][features]
    lines.append(f"└─ {features}  data {_short(facts['data_version'])}  "
                 f"code {_short(facts['code_version'])}  rows {facts['row_count']}  "
                 f"[{_checks_line(bom['contracts'].get(features, []))}]")
    sources = list(bom["sources"])
    for index, source in enumerate(sources):
        last = index == len(sources) - 1
        branch, pad = ("└─", "   ") if last else ("├─", "│  ")
        redacted = bom["assets"].get(f"redacted_{source}", {})
        red = bom["redaction"][source]
        lines.append(f"   {branch} redacted_{source}  data {_short(redacted.get('data_version'))}"
                     f"  policy {red['policy']} sha256 {_short(red['policy_sha256'])}  "
                     f"[{_checks_line(bom['contracts'].get(f'redacted_{source}', []))}]")
        lines.append(f"   {pad}   entities redacted {red['entities_redacted']}")
        raw = bom["assets"].get(f"raw_{source}", {})
        src = bom["sources"][source]
        lines.append(f"   {pad}└─ raw_{source}  data {_short(raw.get('data_version'))}  "
                     f"rows in {src['rows_in']}, loaded {src['rows_loaded']}, quarantined "
                     f"{src['rows_rejected']} {src['reject_reasons']}")
        lines.append(f"   {pad}   └─ {src['path']}  sha256 {src['sha256']}")
    code = bom["code"]
    lines.append(f"code: git {code.get('git_commit')} (dirty: {code.get('git_dirty')}), "
                 f"requirements.lock sha256 {_short(code.get('requirements_lock_sha256'), 16)}, "
                 f"python {code.get('python')}")
    return "\n".join(lines)


def _source_assets(bom: dict[str, Any]) -> set[str]:
    return {f"{kind}_{s}" for s in bom["sources"] for kind in ("raw", "redacted")}


def lineage_summary(bom: dict[str, Any]) -> dict[str, Any]:
    """The JSON form: the BOM's chain, source files first."""
    return {
        "model": bom["model"],
        "sources": {s: {"path": f["path"], "sha256": f["sha256"], "rows_in": f["rows_in"],
                        "rows_loaded": f["rows_loaded"], "rows_rejected": f["rows_rejected"]}
                    for s, f in bom["sources"].items()},
        "redaction": bom["redaction"],
        "assets": bom["assets"],
        "contracts": bom["contracts"],
        "declarations": bom["declarations"],
        "code": bom["code"],
        "dagster": bom["dagster"],
    }


def audit_markdown(bom: dict[str, Any]) -> str:
    model = bom["model"]
    out = [
        f"# Audit report: {model['name']} version {model['version']}",
        "",
        f"Dataset `{bom['dataset']}`. Registered as **{model['alias']}**: "
        f"{model['promotion_reason']}.",
        "",
        "## Model",
        "",
        "| field | value |", "|---|---|",
        f"| estimator | `{model['estimator']}` |",
        f"| target | `{model['target']}` |",
        f"| features | {', '.join(f'`{f}`' for f in model['features'])} |",
        f"| parameters | `{model['params']}`, seed {model['seed']}, test size "
        f"{model['test_size']} |",
        f"| evaluation gate | {model['evaluation_gate']} |",
        *(f"| {k} | {v:.4f} |" for k, v in model["metrics"].items()),
        f"| MLflow run | `{model['mlflow_run_id']}` |",
        f"| Dagster run | `{bom['dagster']['run_id']}` (job `{bom['dagster']['job']}`) |",
        "",
        "## Sources",
        "",
        "| source | file | sha256 | rows in | loaded | quarantined | reasons |",
        "|---|---|---|---|---|---|---|",
        *(f"| {s} | `{f['path']}` | `{f['sha256']}` | {f['rows_in']} | {f['rows_loaded']} | "
          f"{f['rows_rejected']} | {f['reject_reasons']} |" for s, f in bom["sources"].items()),
        "",
        "## PII policy applied",
        "",
    ]
    for source, red in bom["redaction"].items():
        out += [f"### {source}: `{red['policy']}` (sha256 `{red['policy_sha256']}`)", "",
                f"spaCy model `{red['spacy_model']}`; HMAC key fingerprint "
                f"`{red['hmac_key_fingerprint']}`; entities redacted in free text: "
                f"{red['entities_redacted']}.", "",
                "| column | action | entity | values changed | entities found |",
                "|---|---|---|---|---|"]
        for column, info in (red.get("columns") or {}).items():
            out.append(f"| {column} | {info['action']} | {info.get('entity') or ''} | "
                       f"{info['values_changed']} | {info.get('entities_found') or ''} |")
        out.append("")
    out += ["## Contracts and gates", ""]
    for asset, checks in bom["contracts"].items():
        out += [f"### {asset}", "", "| check | blocking | result | evidence |",
                "|---|---|---|---|"]
        for check in checks:
            verdict = "passed" if check["passed"] else "**failed**"
            out.append(f"| {check['check']} | {'yes' if check['blocking'] else 'no'} | "
                       f"{verdict} | {check.get('summary') or ''} |")
        out.append("")
    out += ["## Lineage", "", "```", lineage_tree(bom), "```", "",
            "## Code and environment", "",
            *(f"- {k}: `{v}`" for k, v in bom["code"].items()),
            *(f"- {k}: `{v}`" for k, v in bom["declarations"].items()), ""]
    return "\n".join(out)


def markdown_to_html(markdown: str, title: str) -> str:
    """The report's Markdown subset (headings, tables, lists, code blocks) as a standalone page."""
    body, in_code, in_table = [], False, False
    for line in markdown.splitlines():
        if line.startswith("```"):
            body.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            body.append(html.escape(line))
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= {"-"} for c in cells):
                continue
            tag = "th" if not in_table else "td"
            if not in_table:
                body.append("<table>")
                in_table = True
            body.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line:
            body.append(f"<p>{_inline(line)}</p>")
    if in_table:
        body.append("</table>")
    style = ("body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:"
             "collapse}td,th{border:1px solid #ccc;padding:.3em .6em;font-size:.9em}"
             "pre{background:#f5f5f5;padding:1em;overflow-x:auto}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>\n" + "\n".join(body) +
            "\n</body></html>\n")


def _inline(text: str) -> str:
    escaped = html.escape(text)
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))
