"""Classifying every column of a new source: a PII policy rule from its name, then its values.

A column's name says most ("ssn", "email", "dob"); otherwise its values are scanned with the
column scanner. Guesses carry a ``review`` note for a person to confirm.
"""

import re
from typing import Any

import pandas as pd

from pipeline.privacy.entities import IDENTIFYING_ENTITIES
from pipeline.privacy.redactor import Redactor
from pipeline.scaffold.profile import SourceProfile

_SAMPLE = 2000
_FREE_TEXT_LENGTH = 25
# Column names that say what a column holds, whatever its values look like.
_NAME_RULES: list[tuple[str, dict[str, Any]]] = [
    (r"(^|_)(ssn|social_security)", {"action": "drop", "entity": "US_SSN"}),
    (
        r"(^|_)(dob|birth|birthdate|date_of_birth)",
        {"action": "generalize", "to": "year", "entity": "DATE_OF_BIRTH"},
    ),
    (
        r"(^|_)(zip|zipcode|postcode|postal)",
        {"action": "generalize", "to": "prefix", "keep_chars": 3, "entity": "POSTCODE"},
    ),
    (r"(^|_)(e?mail)", {"action": "drop", "entity": "EMAIL_ADDRESS"}),
    (r"(^|_)(phone|mobile|tel|telephone|fax)", {"action": "drop", "entity": "PHONE_NUMBER"}),
    (r"(^|_)(address|street)", {"action": "drop", "entity": "STREET_ADDRESS"}),
    (
        r"(^|_)(first_?name|last_?name|full_?name|surname|name|physician|doctor)",
        {"action": "drop", "entity": "PERSON"},
    ),
    (r"(^|_)(ip|ip_address)$", {"action": "hash", "entity": "IP_ADDRESS"}),
    (
        r"(^|_)(card|card_number|iban|account)",
        {"action": "mask", "keep_last": 4, "entity": "FINANCIAL_ACCOUNT"},
    ),
    (
        r"(^|_)(mrn|medical_record|insurance|policy_number|passport|license|licence)",
        {"action": "hash", "entity": "IDENTIFIER"},
    ),
]


def classify(profile: SourceProfile, target: str, join_keys: set[str], redactor: Redactor) -> None:
    """A policy rule for every column, from its name first, then from a scan of its values."""
    for column, column_type in profile.columns.items():
        lowered = column.lower()
        if column == target:
            profile.rules[column] = {"action": "keep"}
            continue
        if column in join_keys or column == profile.key or re.search(r"(^|_)id$", lowered):
            profile.rules[column] = {"action": "hash", "entity": "IDENTIFIER"}
            continue
        by_name = next((rule for pattern, rule in _NAME_RULES if re.search(pattern, lowered)), None)
        if by_name is not None:
            rule = dict(by_name)
            if (
                rule["action"] == "generalize"
                and rule["to"] == "year"
                and column_type not in ("DATE", "TIMESTAMP")
            ):
                rule = {
                    "action": "drop",
                    "entity": rule["entity"],
                    "review": "a birth date that is not typed as a date: dropped",
                }
            profile.rules[column] = rule
            continue
        if column_type != "VARCHAR":
            rule = {"action": "keep"}
            if column_type in ("DATE", "TIMESTAMP"):
                rule["review"] = (
                    "dates tied to a person are identifiers under HIPAA Safe "
                    "Harbor: consider generalize to year"
                )
            profile.rules[column] = rule
            continue
        profile.rules[column] = _classify_text(profile.frame[column], redactor)
    people = [c for c, r in profile.rules.items() if r.get("entity") == "PERSON"]
    contacts = [
        c
        for c, r in profile.rules.items()
        if r.get("entity") in ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER")
    ]
    for rule in profile.rules.values():
        if rule["action"] == "scan":
            rule.update(
                {
                    k: v
                    for k, v in (("redact_row_values_from", contacts), ("known_names_from", people))
                    if v
                }
            )


def _classify_text(series: pd.Series, redactor: Redactor) -> dict[str, Any]:
    values = [str(v) for v in series.dropna().unique()[:_SAMPLE] if str(v).strip()]
    if not values:
        return {"action": "drop", "review": "empty in the sample: dropped until classified"}
    hits = redactor.scan_texts(values, IDENTIFYING_ENTITIES, 0.4)
    with_hits = [h for h in hits if h]
    lengths = [len(v) for v in values]
    mean_length = sum(lengths) / len(lengths)
    whole = [
        h
        for v, h in zip(values, hits, strict=True)
        if h and sum(x.end - x.start for x in h) >= 0.6 * len(v.strip())
    ]
    if whole and len(whole) >= 0.5 * len(values):
        entity = max(IDENTIFYING_ENTITIES, key=lambda e: sum(1 for h in whole if h[0].entity == e))
        return {"action": "drop", "entity": entity}
    if mean_length >= _FREE_TEXT_LENGTH or with_hits:
        return {
            "action": "scan",
            "entities": list(IDENTIFYING_ENTITIES),
            **(
                {}
                if with_hits
                else {"review": "long text with no entity in the sample: scanned to be safe"}
            ),
        }
    distinct = series.nunique(dropna=True)
    if distinct <= 50 or distinct <= 0.05 * len(series):
        return {"action": "keep"}
    return {
        "action": "hash",
        "review": "high-cardinality short text with no entity found: "
        "hashed until someone confirms it is not identifying",
    }
