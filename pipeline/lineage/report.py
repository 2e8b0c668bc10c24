"""The audit report: a model version's BOM as Markdown and as a standalone HTML page."""

import html
import re
from typing import Any

from pipeline import settings
from pipeline.lineage.tree import lineage_tree, residual_line


def _links(bom: dict[str, Any]) -> tuple[str, str]:
    """The MLflow run and model version, and the Dagster run, as links to their UIs
    (``GOVERN_MLFLOW_UI_URL``, ``GOVERN_DAGSTER_UI_URL``) that name their ids."""
    model, dagster = bom["model"], bom["dagster"]
    mlflow_ui, dagster_ui = settings.mlflow_ui_url(), settings.dagster_ui_url()
    run = f"[run `{model['mlflow_run_id']}`]({mlflow_ui}/#/runs/{model['mlflow_run_id']})"
    version = (
        f"[{model['name']} version {model['version']}]"
        f"({mlflow_ui}/#/models/{model['name']}/versions/{model['version']})"
    )
    dagster_run = (
        f"[run `{dagster['run_id']}`]({dagster_ui}/runs/{dagster['run_id']}) "
        f"(job `{dagster['job']}`)"
    )
    return f"{run}; registered as {version}", dagster_run


def audit_markdown(bom: dict[str, Any], erasures: list[dict[str, Any]] | None = None) -> str:
    """The report; ``erasures`` are the erasure events of the model's dataset (the ledger's
    summaries: ids, times, reasons, what was changed; never a subject or a value)."""
    model = bom["model"]
    name = f"{model['name']}@{model['version']}"
    mlflow_links, dagster_link = _links(bom)
    affected = [e["request"] for e in erasures or [] if name in e.get("models", [])]
    out = [
        f"# Audit report: {model['name']} version {model['version']}",
        "",
        f"Dataset `{bom['dataset']}`. Registered as **{model['alias']}**: "
        f"{model['promotion_reason']}.",
        "",
        "## Model",
        "",
        "| field | value |",
        "|---|---|",
        f"| estimator | `{model['estimator']}` |",
        f"| target | `{model['target']}` |",
        f"| features | {', '.join(f'`{f}`' for f in model['features'])} |",
        f"| parameters | `{model['params']}`, seed {model['seed']}, test size "
        f"{model['test_size']} |",
        f"| evaluation gate | {model['evaluation_gate']} |",
        *(f"| {k} | {v:.4f} |" for k, v in model["metrics"].items()),
        f"| MLflow | {mlflow_links} |",
        f"| Dagster | {dagster_link} |",
        "",
        "## Sources",
        "",
        "| source | file | sha256 | rows in | loaded | quarantined | reasons |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {s} | `{f['path']}` | `{f['sha256']}` | {f['rows_in']} | {f['rows_loaded']} | "
            f"{f['rows_rejected']} | {f['reject_reasons']} |"
            for s, f in bom["sources"].items()
        ),
        "",
        "## PII policy applied",
        "",
    ]
    for source, red in bom["redaction"].items():
        out += [
            f"### {source}: `{red['policy']}` (sha256 `{red['policy_sha256']}`)",
            "",
            f"spaCy model `{red['spacy_model']}`; HMAC key fingerprint "
            f"`{red['hmac_key_fingerprint']}`; entities redacted in free text: "
            f"{red['entities_redacted']}.",
            "",
            f"Residual PII: {residual_line(red.get('residual_pii'))}.",
            "",
            "| column | action | entity | values changed | entities found |",
            "|---|---|---|---|---|",
        ]
        for column, info in (red.get("columns") or {}).items():
            out.append(
                f"| {column} | {info['action']} | {info.get('entity') or ''} | "
                f"{info['values_changed']} | {info.get('entities_found') or ''} |"
            )
        out.append("")
    out += ["## Contracts and gates", ""]
    for asset, checks in bom["contracts"].items():
        out += [f"### {asset}", "", "| check | blocking | result | evidence |", "|---|---|---|---|"]
        for check in checks:
            verdict = "passed" if check["passed"] else "**failed**"
            out.append(
                f"| {check['check']} | {'yes' if check['blocking'] else 'no'} | "
                f"{verdict} | {check.get('summary') or ''} |"
            )
        out.append("")
    out += [
        "## Lineage",
        "",
        "```",
        lineage_tree(bom, [e for e in erasures or [] if e["request"] in affected]),
        "```",
        "",
        *_erasure_section(erasures or [], name),
        "## Code and environment",
        "",
        *(f"- {k}: `{v}`" for k, v in bom["code"].items()),
        *(f"- {k}: `{v}`" for k, v in bom["declarations"].items()),
        "",
    ]
    return "\n".join(out)


def _erasure_section(erasures: list[dict[str, Any]], name: str) -> list[str]:
    """Every erasure of the dataset: when, why, what it changed, and whether it changed the
    data this version was trained on (then it is not reproducible bit for bit)."""
    out = ["## Erasure events", ""]
    if not erasures:
        return [*out, "No erasure request for this dataset.", ""]
    out += [
        "| request | started | status | reason | rows found | landing files changed | "
        "tables | this version |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for event in erasures:
        rows = ", ".join(f"{s} {n}" for s, n in event["rows_found"].items())
        files = ", ".join(
            f"`{f['path']}` (-{f['rows_removed']}, now `{f['sha256_after'][:12]}`)"
            for f in event["landing"]
        )
        mark = "trained on data it changed" if name in event["models"] else "not affected"
        out.append(
            f"| {event['request']} | {event['started_at']} | {event['status']} | "
            f"{event['reason']} | {rows} | {files} | {len(event['tables'])} | {mark} |"
        )
    return [*out, ""]


_STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:"
    "collapse}td,th{border:1px solid #ccc;padding:.3em .6em;font-size:.9em}"
    "pre{background:#f5f5f5;padding:1em;overflow-x:auto}"
)


class _HtmlWriter:
    """Turns the report's Markdown subset into HTML, one line at a time."""

    def __init__(self) -> None:
        self.body: list[str] = []
        self.in_code = False
        self.in_table = False

    def line(self, line: str) -> None:
        if line.startswith("```"):
            self.body.append("</pre>" if self.in_code else "<pre>")
            self.in_code = not self.in_code
        elif self.in_code:
            self.body.append(html.escape(line))
        elif line.startswith("|"):
            self._table_row(line)
        else:
            self.close_table()
            self._block(line)

    def _table_row(self, line: str) -> None:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if all(set(c) <= {"-"} for c in cells):
            return  # the header separator
        tag = "td" if self.in_table else "th"
        if not self.in_table:
            self.body.append("<table>")
            self.in_table = True
        self.body.append("<tr>" + "".join(f"<{tag}>{_inline(c)}</{tag}>" for c in cells) + "</tr>")

    def close_table(self) -> None:
        if self.in_table:
            self.body.append("</table>")
            self.in_table = False

    def _block(self, line: str) -> None:
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            self.body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            self.body.append(f"<li>{_inline(line[2:])}</li>")
        elif line:
            self.body.append(f"<p>{_inline(line)}</p>")


def markdown_to_html(markdown: str, title: str) -> str:
    """The report's Markdown subset (headings, tables, lists, code blocks) as a standalone page."""
    writer = _HtmlWriter()
    for line in markdown.splitlines():
        writer.line(line)
    writer.close_table()
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(writer.body)
        + "\n</body></html>\n"
    )


_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def _inline(text: str) -> str:
    escaped = html.escape(text)
    escaped = _LINK.sub(r'<a href="\2">\1</a>', escaped)
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))
