"""What the quarantined rows of an ingest have in common, and what to do about it."""

from collections import Counter

from pipeline.ingest.reader import IngestReport


def summarize_reasons(reasons: dict[str, int]) -> dict[str, int]:
    """Collapse 'duplicate of line N' and quote spill-overs into buckets: metadata stays small."""
    summary: Counter[str] = Counter()
    for reason, count in reasons.items():
        if reason.startswith("duplicate of line"):
            reason = "duplicate row"
        summary[reason.split(" (inside a quote")[0]] += count
    return dict(sorted(summary.items()))


_ADVICE = {
    "malformed line: invalid encoding": "the file is not UTF-8 (Latin-1 or Windows-1252?): "
    "re-encode it as UTF-8",
    "malformed line: unquoted value": "a quote was left open: check the quoting of the line "
    "named in the quarantine table",
    "malformed line: too many columns": "lines have extra fields: check the delimiter and "
    "unquoted commas",
    "malformed line: missing columns": "lines have too few fields: check the delimiter",
}


def reject_advice(report: IngestReport) -> str:
    """What most rejects have in common, and what to do about it."""
    if not report.rows_rejected:
        return ""
    reasons = summarize_reasons(report.reject_reasons)
    reason, count = max(reasons.items(), key=lambda item: item[1])
    if reason == "unparsable value" and report.reject_columns:
        column = max(report.reject_columns.items(), key=lambda item: item[1])[0]
        return (
            f"most rejects ({count}) are values of column '{column}' that do not parse as "
            "its declared type: did the column's type change, or shift by one?"
        )
    advice = _ADVICE.get(reason, "see the quarantine table")
    return f"most rejects ({count}) are '{reason}': {advice}"
