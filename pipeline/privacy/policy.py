"""PII policies: ``policies/<source>.yaml`` says what happens to every column of a source.

Actions per column: ``drop``, ``keep``, ``hash`` (keyed HMAC, so joins survive), ``mask``,
``replace`` (entity tag), ``generalize`` (date to year, text to prefix) and ``scan`` (free text:
Presidio finds entities in each cell and the anonymizer replaces them). A column present in the
data but absent from the policy is an error: new columns must be classified.
"""

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.declarations.files import read_mapping, validate_file
from pipeline.errors import DeclarationError
from pipeline.privacy.entities import (
    DEFAULT_PHONE_REGIONS,
    GATE_ENTITIES,
    SUPPORTED_ENTITIES,
)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    entity: str | None = Field(default=None, description="What the column holds, if PII.")
    allow_entities: list[str] = Field(
        default_factory=list,
        description="Entity types the residual gate accepts in this column's output.",
    )
    review: str | None = Field(
        default=None,
        description="Set by `govern new-dataset` where the classification is a guess: why a "
        "person should confirm it. Remove once reviewed.",
    )


class DropRule(_Rule):
    action: Literal["drop"]


class KeepRule(_Rule):
    action: Literal["keep"]


class HashRule(_Rule):
    action: Literal["hash"]
    prefix: str = Field(default="", max_length=8, description="Prefix for readable tokens.")


class MaskRule(_Rule):
    action: Literal["mask"]
    keep_last: int = Field(default=4, ge=0, le=8)
    mask_char: str = Field(default="*", min_length=1, max_length=1)


class ReplaceRule(_Rule):
    action: Literal["replace"]
    entity: str


class GeneralizeRule(_Rule):
    action: Literal["generalize"]
    to: Literal["year", "prefix"]
    keep_chars: int = Field(default=2, ge=1, description="For 'prefix': characters kept.")


class ScanRule(_Rule):
    action: Literal["scan"]
    entities: list[str] = Field(min_length=1)
    score_threshold: float = Field(default=0.4, ge=0, le=1)
    redact_row_values_from: list[str] = Field(
        default_factory=list,
        description="Columns whose value in the same row is redacted wherever it appears in "
        "this text (a customer's own name, email, phone), even where NER misses it.",
    )
    known_names_from: list[str] = Field(
        default_factory=list,
        description="Columns of person names: any part of any name in them is redacted "
        "wherever it appears capitalized in this text, in any row (names NER misses). "
        "'source.column' reads another source of the same dataset (its raw table).",
    )
    allow_values_from: list[str] = Field(
        default_factory=list,
        description="Kept columns of this source whose values (countries, cities, plan or "
        "product names) are never redacted in this text, in any row, whatever the NER "
        "model calls them. Only `keep` columns: their values are in the output already.",
    )


ColumnRule = Annotated[
    DropRule | KeepRule | HashRule | MaskRule | ReplaceRule | GeneralizeRule | ScanRule,
    Field(discriminator="action"),
]


class CustomRecognizer(BaseModel):
    """A regex recognizer declared in the policy (order numbers, internal ids, addresses)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    entity: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    regex: str
    score: float = Field(default=0.8, gt=0, le=1)
    context: list[str] = Field(default_factory=list)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return value


class ResidualSettings(BaseModel):
    """How the residual-PII gate verifies this source's redacted output."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    verifier: Literal["presidio", "off"] = Field(
        default="presidio",
        description="'presidio': vanilla Presidio re-reads the redacted text cells (see "
        "pipeline.privacy.verifier); 'off' skips it, and the run summary and the BOM say so.",
    )
    max_residual_rate: float = Field(
        default=0.001,
        gt=0,
        lt=1,
        description="Budget: the gate blocks when the upper confidence bound of the share of "
        "text cells the verifier flags exceeds this.",
    )
    confidence: float = Field(default=0.95, ge=0.5, lt=1)
    sample_cells: int | None = Field(
        default=None,
        ge=1,
        description="Distinct cells read per column; default: sized for the budget and the "
        "confidence (every cell of a smaller column).",
    )


class PiiPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    language: str = "en"
    columns: dict[str, ColumnRule] = Field(min_length=1)
    recognizers: list[CustomRecognizer] = Field(default_factory=list)
    allow_list: list[str] = Field(
        default_factory=list, description="Words never treated as PII (product names...)."
    )
    deny_lists: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per entity, words always treated as that entity (internal code names).",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="Regions whose national phone formats are recognized without a +prefix.",
    )
    gate_entities: list[str] = Field(default_factory=lambda: list(GATE_ENTITIES))
    gate_score_threshold: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="The residual verifier's score threshold (Presidio scores a phone number "
        "without context words 0.4).",
    )
    residual: ResidualSettings = Field(default_factory=ResidualSettings)

    @model_validator(mode="after")
    def _entities_are_known(self) -> "PiiPolicy":
        known = SUPPORTED_ENTITIES | {r.entity for r in self.recognizers} | set(self.deny_lists)
        named = [("gate_entities", e) for e in self.gate_entities]
        named += [
            (f"columns.{n}.entities", e)
            for n, r in self.columns.items()
            if isinstance(r, ScanRule)
            for e in r.entities
        ]
        for key, entity in named:
            if entity not in known:
                raise ValueError(
                    f"{key}: no recognizer finds {entity!r}; known: "
                    f"{sorted(known)} (declare a recognizer or deny list for it)"
                )
        return self

    @model_validator(mode="after")
    def _row_values_exist(self) -> "PiiPolicy":
        for name, rule in self.columns.items():
            if isinstance(rule, ScanRule):
                named = rule.redact_row_values_from + [
                    c for c in rule.known_names_from if "." not in c
                ]
                unknown = [c for c in named + rule.allow_values_from if c not in self.columns]
                if unknown:
                    raise ValueError(f"columns.{name} names unknown columns {unknown}")
                not_kept = [
                    c for c in rule.allow_values_from if not isinstance(self.columns[c], KeepRule)
                ]
                if not_kept:
                    raise ValueError(
                        f"columns.{name}.allow_values_from: {not_kept} are not kept columns; "
                        "only values the output keeps as they are can be allowed in text"
                    )
        return self

    def names_from_other_sources(self) -> set[tuple[str, str]]:
        """(source, column) pairs whose names this policy's scans also redact."""
        return {
            tuple(c.split(".", 1))
            for rule in self.columns.values()
            if isinstance(rule, ScanRule)
            for c in rule.known_names_from
            if "." in c
        }

    def output_columns(self) -> list[str]:
        return [name for name, rule in self.columns.items() if not isinstance(rule, DropRule)]

    def to_review(self) -> dict[str, str]:
        return {name: rule.review for name, rule in self.columns.items() if rule.review}

    def pii_columns(self) -> dict[str, str]:
        """Columns that hold PII, with their entity (declared or implied by the action)."""
        found = {}
        for name, rule in self.columns.items():
            if rule.entity:
                found[name] = rule.entity
            elif isinstance(rule, ScanRule):
                found[name] = "FREE_TEXT"
        return found

    def check_columns(self, columns: list[str], where: str) -> None:
        """Every data column must be classified; every policy column must exist."""
        unclassified = [c for c in columns if c not in self.columns]
        missing = [c for c in self.columns if c not in columns]
        problems = []
        if unclassified:
            problems.append(
                f"columns {unclassified} are in the data but not in the policy: "
                "classify each one (drop, keep, hash, mask, replace, generalize "
                "or scan)"
            )
        if missing:
            problems.append(f"columns {missing} are in the policy but not in the data")
        if problems:
            raise DeclarationError(f"{where}: " + "; ".join(problems))


def load_policy(path: Path) -> PiiPolicy:
    policy = validate_file(PiiPolicy, path, read_mapping(path))
    if policy.source != path.stem:
        raise DeclarationError(
            f"{path}: source: {policy.source!r} must equal the file name {path.stem!r}"
        )
    return policy
