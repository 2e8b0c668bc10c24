"""Benchmark: our redaction against Presidio's own engines, side by side, in one run.

    .venv/bin/python bench/redaction.py [--customers 2000] [--corpus 1000] [--skip-naive]
                                        [--outside 500] [--split heldout|tune] [--outside-only]

The headline is the outside section (``bench.outside``, ``bench.corpora``): text nobody here
wrote (presidio-evaluator's templates, and Faker values from twelve locales in message shapes),
redacted by ours and by vanilla Presidio (default recognizers only), scored per entity type on
the held-out split: redaction recall (is the true value gone from the output), detection recall
and precision, the residual gate's catch rate on rows that still leak, and throughput against
BatchAnalyzerEngine. ``--split tune`` shows the split you may read while tuning; never read
the held-out texts (see ``bench/corpora.py``).

The sections below it use the repo's own generated data, which was written next to the
detectors: a regression check, not the headline.

On the same generated customers data (the five text columns full_name, email, phone,
street_address and support_notes), it times:

- naive:  Presidio per cell (AnalyzerEngine.analyze + AnonymizerEngine.anonymize on each cell),
- batch:  Presidio's BatchAnalyzerEngine + BatchAnonymizerEngine over the columns, in one
          process (its default) and with ``n_process=2`` (both cores, as ours uses),
- ours:   the pipeline's Redactor applying policies/customers.yaml to the whole table.

Both baselines get the policy's custom recognizers (order numbers, street addresses, dates of
birth), the same entities and the same score threshold, so they are compared on equal terms.

Recall is measured two ways: on the customers data (how many rows' own structured PII values
(name, email, phone, street address) survive anywhere in the row's redacted output), and per
entity type on the labelled synthetic corpus (``pipeline.samples.pii_corpus``).
"""

import argparse
import re
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

import pipeline  # noqa: F401  (switches off telemetry and network lookups first)
from pipeline.declarations.dataset import load_datasets
from pipeline.ingest.reader import ingest_to_table
from pipeline.privacy.policy import ScanRule, load_policy
from pipeline.privacy.presidio import build_analyzer, custom_recognizers
from pipeline.privacy.redactor import Redactor
from pipeline.samples.churn import generate
from pipeline.samples.pii_corpus import ENTITY_TYPES, format_report, generate_corpus, score

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))
from bench.outside import Engines, format_outside, run_outside  # noqa: E402
from pipeline.privacy.residual import residual_scan  # noqa: E402
from pipeline.privacy.verifier import ResidualVerifier  # noqa: E402
from pipeline.settings import verifier_model  # noqa: E402

TEXT_COLUMNS = ["full_name", "email", "phone", "street_address", "support_notes"]
STRUCTURED_PII = ["full_name", "email", "phone", "street_address"]
KEY = b"benchmark-key"


def customers_frame(n: int, workdir: Path) -> pd.DataFrame:
    """The generated customers file, ingested the way the pipeline ingests it."""
    csv = workdir / "customers.csv"
    csv.write_text(generate(n)["customers"])
    spec = next(d for d in load_datasets(ROOT) if "customers" in d.sources).sources["customers"]
    with duckdb.connect() as conn:
        ingest_to_table(conn, "customers", spec, csv, "t", "q")
        return conn.execute("SELECT * FROM t").df()


class Baseline:
    """Presidio's stock engines, given the policy's entities and custom recognizers."""

    def __init__(self, policy, rule: ScanRule):
        from presidio_analyzer import BatchAnalyzerEngine
        from presidio_anonymizer import AnonymizerEngine, BatchAnonymizerEngine

        self.analyzer = build_analyzer()
        self.batch = BatchAnalyzerEngine(analyzer_engine=self.analyzer)
        self.anonymizer = AnonymizerEngine()
        self.batch_anonymizer = BatchAnonymizerEngine(anonymizer_engine=self.anonymizer)
        self.kwargs = {
            "language": "en",
            "score_threshold": rule.score_threshold,
            "entities": sorted(set(rule.entities) | {r.entity for r in policy.recognizers}),
            "ad_hoc_recognizers": custom_recognizers(policy),
        }

    def naive(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for column in TEXT_COLUMNS:
            values = []
            for value in frame[column].tolist():
                if value is None or pd.isna(value):
                    values.append(value)
                    continue
                results = self.analyzer.analyze(str(value), **self.kwargs)
                values.append(self.anonymizer.anonymize(str(value), results).text)
            out[column] = values
        return pd.DataFrame(out)

    def batched(self, frame: pd.DataFrame, n_process: int = 1) -> pd.DataFrame:
        data = {c: [None if pd.isna(v) else str(v) for v in frame[c]] for c in TEXT_COLUMNS}
        results = self.batch.analyze_dict(data, batch_size=256, n_process=n_process, **self.kwargs)
        return pd.DataFrame(self.batch_anonymizer.anonymize_dict(results))

    def detect(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        found = self.batch.analyze_iterator(texts, batch_size=256, **self.kwargs)
        return [[(r.start, r.end, r.entity_type) for r in results] for results in found]


def surviving_rows(raw: pd.DataFrame, redacted: pd.DataFrame) -> int:
    """Rows where any of their own structured PII values still appears in their output."""
    text_out = redacted.astype(str).agg(" ".join, axis=1).str.lower().tolist()
    survived = 0
    for position, row in enumerate(raw[STRUCTURED_PII].itertuples(index=False)):
        values = [str(v).strip().lower() for v in row if v is not None and not pd.isna(v)]
        if any(v and v in text_out[position] for v in values):
            survived += 1
    return survived


def timed(label: str, func, *args):
    print(f"  running {label} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - start


def outside_section(n: int, split: str) -> None:
    """Ours against vanilla Presidio on the outside corpora (the headline numbers)."""
    print(f"outside corpora: {n} texts each, {split} split", flush=True)
    print("  building engines ...", file=sys.stderr, flush=True)
    engines = Engines()
    print("  running outside corpora ...", file=sys.stderr, flush=True)
    print(format_outside(run_outside(split, n, engines), split), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--corpus", type=int, default=1000)
    parser.add_argument("--skip-naive", action="store_true", help="the slowest baseline")
    parser.add_argument(
        "--outside", type=int, default=500, help="texts per outside corpus (0 skips the section)"
    )
    parser.add_argument(
        "--split",
        choices=["heldout", "tune"],
        default="heldout",
        help="outside split: heldout is scored only; tune is the one to read while tuning",
    )
    parser.add_argument(
        "--outside-only", action="store_true", help="only the outside section (the headline)"
    )
    args = parser.parse_args()
    if args.outside:
        outside_section(args.outside, args.split)
    if not args.outside_only:
        print()
        repo_sections(args)


def verified(redactor: Redactor, frame: pd.DataFrame) -> pd.DataFrame:
    """What ``govern redact`` and the pipeline publish: redaction, then the residual gate's
    verifier (its own model) with what it flags redacted."""
    redacted = redactor.redact(frame)[0]
    return residual_scan(redactor, frame, redacted)[1]


def repo_sections(args: argparse.Namespace) -> None:
    """The repo's own data: the customers table and the labelled corpus (regression check)."""
    workdir = Path(ROOT / ".govern" / "bench")
    workdir.mkdir(parents=True, exist_ok=True)
    frame = customers_frame(args.customers, workdir)
    policy = load_policy(ROOT / "policies" / "customers.yaml")
    rule = policy.columns["support_notes"]
    baseline = Baseline(policy, rule)
    ours = Redactor(policy, KEY)
    # Warm up: load spaCy in both engines before any clock starts.
    baseline.analyzer.analyze("Warm up John Smith.", language="en")
    ours.scan_texts(["Warm up John Smith."], ["PERSON"], 0.4)
    ResidualVerifier(verifier_model()).flag(["Warm up John Smith."], ["PERSON"])

    rows = len(frame)
    print(f"customers: {rows} rows, {frame['support_notes'].notna().sum()} notes\n")
    runs = {}
    if not args.skip_naive:
        runs["naive per-cell Presidio"] = timed("naive", baseline.naive, frame)
    runs["Presidio BatchAnalyzerEngine"] = timed("batch", baseline.batched, frame)
    # Ours uses both cores on a large column: so may Presidio (spaCy's n_process).
    runs["Presidio Batch, n_process=2"] = timed("batch2", baseline.batched, frame, 2)
    runs["ours (Redactor, whole policy)"] = timed("ours", lambda f: ours.redact(f)[0], frame)
    runs["ours + residual verifier"] = timed("verified", lambda f: verified(ours, f), frame)

    corpus = generate_corpus(args.corpus)
    texts = [item.text for item in corpus]

    def ours_detections():
        return [
            [(h.start, h.end, h.entity) for h in hits]
            for hits in ours.scan_texts(texts, rule.entities, rule.score_threshold)
        ]

    detectors = {
        "naive per-cell Presidio": lambda: [
            [
                (r.start, r.end, r.entity_type)
                for r in baseline.analyzer.analyze(t, **baseline.kwargs)
            ]
            for t in texts
        ],
        "Presidio BatchAnalyzerEngine": lambda: baseline.detect(texts),
        "Presidio Batch, n_process=2": lambda: baseline.detect(texts),
        "ours (Redactor, whole policy)": ours_detections,
        "ours + residual verifier": ours_detections,
    }
    batch_seconds = runs["Presidio BatchAnalyzerEngine"][1]
    print(
        f"{'approach':<32} {'seconds':>8} {'rows/s':>8} {'vs batch':>9} {'rows leaking':>13} "
        f"{'corpus recall':>14}"
    )
    reports = {}
    for label, (redacted, seconds) in runs.items():
        detections = detectors[label]()
        # Order numbers are redacted by policy choice; the corpus holds them as distractors.
        detections = [[d for d in ds if d[2] != "ORDER_NUMBER"] for ds in detections]
        scores = score(corpus, detections)
        reports[label] = scores
        support = sum(scores[e].support for e in ENTITY_TYPES)
        found = sum(scores[e].found for e in ENTITY_TYPES)
        print(
            f"{label:<32} {seconds:>8.1f} {rows / seconds:>8.0f} "
            f"{batch_seconds / seconds:>8.1f}x {surviving_rows(frame, redacted):>13} "
            f"{found / support:>14.3f}"
        )
    for label, scores in reports.items():
        print(f"\n{label}: precision and recall per entity type on {args.corpus} labelled texts")
        print(re.sub(r"(?m)^", "  ", format_report(scores)))


if __name__ == "__main__":
    main()
