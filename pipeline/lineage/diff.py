"""Answer "why did my model change?" from two model versions' BOMs and feature profiles.

Each BOM records what a version was built from: code (git commit, lock file, asset code
versions), configuration (declaration, policy and contract hashes, hyperparameters) and data
(source file hashes, data versions, row and quarantine counts). Comparing two of them, and the
two training sets' profiles, sorts every difference into one of those areas and names the most
likely cause. Like the BOMs, the diff holds hashes, counts, names and scores, never a value.
"""

from dataclasses import dataclass, field
from typing import Any

from pipeline.training.profile import compare_profiles, profile_sha256

DRIFT_PSI = 0.25
"""PSI above which a feature's shift is large enough to name as the cause of a change."""
TOP_FEATURES = 5


@dataclass(frozen=True)
class Change:
    """One recorded fact that differs between the two versions."""

    area: str  # "code", "configuration" or "data"
    item: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"area": self.area, "item": self.item, "before": self.before, "after": self.after}


@dataclass
class ModelDiff:
    before: str
    after: str
    changes: list[Change]
    metrics: dict[str, dict[str, float | None]]
    drift: list[dict[str, Any]] | None
    drift_note: str
    verdict: str
    cause: str
    notes: list[str] = field(default_factory=list)

    def area(self, name: str) -> list[Change]:
        return [c for c in self.changes if c.area == name]

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "cause": self.cause,
            "verdict": self.verdict,
            "code": [c.as_dict() for c in self.area("code")],
            "configuration": [c.as_dict() for c in self.area("configuration")],
            "data": [c.as_dict() for c in self.area("data")],
            "drift": self.drift,
            "drift_note": self.drift_note,
            "metrics": self.metrics,
            "notes": self.notes,
        }


def _label(bom: dict[str, Any]) -> str:
    return f"{bom['model']['name']}@{bom['model']['version']}"


def _compare(area: str, prefix: str, a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """A change for every key whose value differs, the key named after ``prefix``."""
    return [
        Change(area, f"{prefix}{key}", a.get(key), b.get(key))
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]


def code_changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Git commit and dirtiness, lock file, Python, and every asset's code version.

    An asset's code version folds in its declaration (policy, contract, SQL, model spec), so a
    configuration edit changes it too; the verdict weighs that (see ``_cause``).
    """
    changes = _compare("code", "", a["code"], b["code"])
    assets = {k: v.get("code_version") for k, v in a["assets"].items()}
    others = {k: v.get("code_version") for k, v in b["assets"].items()}
    changes += _compare("code", "code version of ", assets, others)
    if a["model"].get("code_version") != b["model"].get("code_version"):
        changes.append(
            Change(
                "code",
                f"code version of {a['model']['name']}",
                a["model"].get("code_version"),
                b["model"].get("code_version"),
            )
        )
    return changes


_SETTINGS = ("estimator", "target", "features", "seed", "test_size", "metric")


def configuration_changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Declaration, policy and contract hashes, redaction settings, and training settings."""
    changes = _compare("configuration", "", a["declarations"], b["declarations"])
    ma, mb = a["model"], b["model"]
    changes += _compare("configuration", "params.", ma.get("params", {}), mb.get("params", {}))
    changes += _compare(
        "configuration",
        "model.",
        {k: ma.get(k) for k in _SETTINGS},
        {k: mb.get(k) for k in _SETTINGS},
    )
    for source in sorted(set(a["redaction"]) | set(b["redaction"])):
        ra, rb = a["redaction"].get(source, {}), b["redaction"].get(source, {})
        keys = ("spacy_model", "hmac_key_fingerprint")
        changes += _compare(
            "configuration",
            f"redaction of {source}: ",
            {k: ra.get(k) for k in keys},
            {k: rb.get(k) for k in keys},
        )
    return changes


_SOURCE_FACTS = ("path", "sha256", "rows_in", "rows_loaded", "rows_rejected", "reject_reasons")


def data_changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """Source files (sha256, rows, quarantine), and each asset's data version and row count."""
    changes = []
    for source in sorted(set(a["sources"]) | set(b["sources"])):
        sa, sb = a["sources"].get(source, {}), b["sources"].get(source, {})
        changes += _compare(
            "data",
            f"source {source} ",
            {k: sa.get(k) for k in _SOURCE_FACTS},
            {k: sb.get(k) for k in _SOURCE_FACTS},
        )
        quarantined = [
            (r.get("residual_pii") or {}).get("rows_quarantined")
            for r in (a["redaction"].get(source, {}), b["redaction"].get(source, {}))
        ]
        if quarantined[0] != quarantined[1]:
            changes.append(Change("data", f"redaction of {source}: rows_quarantined", *quarantined))
    for kind in ("data_version", "row_count"):
        changes += _compare(
            "data",
            f"{kind.replace('_', ' ')} of ",
            {k: v.get(kind) for k, v in a["assets"].items()},
            {k: v.get(kind) for k, v in b["assets"].items()},
        )
    return changes


def metric_deltas(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    ma, mb = a["model"].get("metrics", {}), b["model"].get("metrics", {})
    deltas = {}
    for name in sorted(set(ma) | set(mb)):
        before, after = ma.get(name), mb.get(name)
        delta = after - before if before is not None and after is not None else None
        deltas[name] = {"before": before, "after": after, "delta": delta}
    return deltas


def _drift(
    profiles: tuple[dict[str, Any] | None, dict[str, Any] | None],
) -> tuple[list[dict[str, Any]] | None, str]:
    before, after = profiles
    if before is None or after is None:
        missing = " and ".join(
            n for n, p in zip(("before", "after"), profiles, strict=True) if p is None
        )
        note = (
            f"no feature profile recorded for the {missing} version (trained before profiles "
            "were stored): distribution drift not compared"
        )
        return None, note
    drifts = [d.as_dict() for d in compare_profiles(before, after)]
    return drifts, f"{len(drifts)} features compared, PSI over the earlier version's bins"


def _changed_data_items(changes: list[Change]) -> list[str]:
    """The sources whose file changed, or else the assets whose data changed."""
    sources = [c.item.split(" ")[1] for c in changes if c.item.endswith(" sha256")]
    if sources:
        return [f"source {s}" for s in dict.fromkeys(sources)]
    return [c.item.removeprefix("data version of ") for c in changes if "data version" in c.item]


def _names(changes: list[Change], limit: int = 4) -> str:
    items = [c.item for c in changes]
    return ", ".join(items[:limit]) + (
        f" and {len(items) - limit} more" if len(items) > limit else ""
    )


def _cause(diff: ModelDiff) -> tuple[str, str]:
    """The most likely cause and the verdict line naming it.

    A large distribution shift is named first: it moves a model whatever else changed. Then a
    configuration change (it also changes asset code versions, which are then not counted as
    code), then code, then data that changed without a large shift.
    """
    code, config, data = (diff.area(n) for n in ("code", "configuration", "data"))
    own_code = [c for c in code if not c.item.startswith("code version of ")]
    if not config and not own_code:
        own_code = code  # an asset's code version moved with no recorded reason: code
    top = diff.drift[0] if diff.drift else None
    shifted = top is not None and top["psi"] > DRIFT_PSI
    found: list[tuple[str, str, list[Change]]] = []
    if data and shifted:
        found.append(
            (
                "data",
                f"data: {', '.join(_changed_data_items(data))} changed; top drifting feature "
                f"{top['feature']} (PSI {top['psi']:.2f}, {top['test']} {_p(top['p_value'])})",
                data,
            )
        )
    if config:
        found.append(("configuration", f"configuration: {_names(config)} changed", config))
    if own_code:
        found.append(("code", f"code: {_names(own_code)} changed", own_code))
    if data and not shifted:
        detail = f"; largest PSI {top['feature']} {top['psi']:.2f}" if top else ""
        items = ", ".join(_changed_data_items(data))
        found.append(("data", f"data: {items} changed{detail}", data))
    if not found:
        return "nothing", "nothing changed: same code, configuration and data"
    cause, line, _ = found[0]
    also = [f"{name} ({_names(changes, 2)})" for name, _, changes in found[1:] if name != cause]
    return cause, line + (f" (also changed: {', '.join(also)})" if also else "")


def diff_boms(
    a: dict[str, Any],
    b: dict[str, Any],
    profiles: tuple[dict[str, Any] | None, dict[str, Any] | None] = (None, None),
) -> ModelDiff:
    """What differs from version ``a`` to version ``b``, by area, with the likely cause."""
    drift, note = _drift(profiles)
    diff = ModelDiff(
        before=_label(a),
        after=_label(b),
        changes=code_changes(a, b) + configuration_changes(a, b) + data_changes(a, b),
        metrics=metric_deltas(a, b),
        drift=drift,
        drift_note=note,
        verdict="",
        cause="",
    )
    for bom, profile in zip((a, b), profiles, strict=True):
        recorded = (bom.get("feature_profile") or {}).get("sha256")
        if profile is not None and recorded and profile_sha256(profile) != recorded:
            diff.notes.append(f"{_label(bom)}: feature profile does not match its BOM's hash")
    diff.cause, diff.verdict = _cause(diff)
    return diff


def _value(value: Any) -> str:
    """Hashes shortened to 12 characters, as ``govern lineage`` prints them; anything else whole."""
    if isinstance(value, str) and len(value) > 16 and set(value) <= set("0123456789abcdef"):
        return value[:12] + "…"
    return str(value)


def format_diff(diff: ModelDiff) -> str:
    """The human form: each area's changes, the drift ranking, metric deltas, the verdict."""
    lines = [f"{diff.before} -> {diff.after}"]
    for area in ("code", "configuration", "data"):
        changes = diff.area(area)
        lines.append(f"{area}: {'unchanged' if not changes else f'{len(changes)} changed'}")
        lines += [f"  {c.item}: {_value(c.before)} -> {_value(c.after)}" for c in changes]
    if diff.drift is None:
        lines.append(f"drift: {diff.drift_note}")
    else:
        lines.append(f"drift (top {TOP_FEATURES} of {len(diff.drift)} features by PSI):")
        lines += [
            f"  {d['feature']:<24} PSI {d['psi']:8.4f}  {d['test']} {d['statistic']:.4g} "
            f"{_p(d['p_value'])}"
            for d in diff.drift[:TOP_FEATURES]
        ]
    lines.append("metrics:")
    for name, m in diff.metrics.items():
        delta = f"{m['delta']:+.4f}" if m["delta"] is not None else "n/a"
        lines.append(f"  {name:<14} {_num(m['before'])} -> {_num(m['after'])}  ({delta})")
    lines += [f"note: {n}" for n in diff.notes]
    lines.append(f"verdict: {diff.verdict}")
    return "\n".join(lines)


def _p(value: float) -> str:
    """A p-value; one below double precision's resolution is printed as a bound, not 0."""
    return "p<1e-16" if value < 1e-16 else f"p={value:.3g}"


def _num(value: float | None) -> str:
    return f"{value:.4f}" if value is not None else "n/a"
