"""Reading back the OpenLineage events a run emitted, and validating them against the
OpenLineage model that ``openlineage-python`` ships: the attrs classes it generates from the
spec (``openlineage.client.generated``). The package ships no JSON schema files, so each event
is rebuilt, field by field, as those classes: the event's ``schemaURL`` and each facet's
``_schemaURL`` pick the class, and a missing required field, an unexpected key, a value of the
wrong type or outside an enum, or a value the class's own validators reject (``eventTime``,
``runId``) is a violation. A few rules of the spec the classes do not carry are added
(``SPEC_RULES``)."""

import importlib
import json
import pkgutil
import types
import typing
from collections.abc import Callable
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import attrs
from dateutil.parser import isoparse
from openlineage.client import generated
from openlineage.client.generated.base import (
    BaseEvent,
    BaseFacet,
    DatasetFacet,
    InputDatasetFacet,
    OutputDatasetFacet,
)
from openlineage.client.generated.column_lineage_dataset import Transformation

from pipeline import settings

# A value that could not be built; whatever contains it is not built either.
INVALID = object()

# Fields the model fills in itself when constructed but the spec requires in every event.
SPEC_REQUIRED = {"producer", "schemaURL", "_producer", "_schemaURL"}

# Where the model is stricter than the spec: a dataset's generic ``facets`` take any dataset
# facet (the pipeline puts the gates' assertions on the dataset they audited).
SLOT_ACCEPTS = {DatasetFacet: (DatasetFacet, InputDatasetFacet, OutputDatasetFacet)}


def _one_of(*allowed: str) -> Callable[[str], str | None]:
    return lambda value: None if value in allowed else f"{value!r} is not one of {list(allowed)}"


def _canonical_uuid(value: str) -> str | None:
    """The spec's ``uuid`` format: hyphenated hex, where Python's UUID also takes other forms."""
    try:
        canonical = str(UUID(value))
    except ValueError:
        return None  # the class's own validator says it
    return None if value.lower() == canonical else f"{value!r} is not a hyphenated UUID"


def _zoned_time(value: str) -> str | None:
    """The spec's ``date-time`` format (RFC 3339) needs an offset; the class's check does not."""
    try:
        parsed = isoparse(value)
    except ValueError:
        return None  # the class's own validator says it
    return None if parsed.tzinfo is not None else f"{value!r} has no UTC offset"


# What the spec asks of a field (by class, or None for every class) beyond the generated
# classes: a format their validators check more loosely, allowed values stated only in prose.
SPEC_RULES: dict[tuple[type | None, str], Callable[[str], str | None]] = {
    (None, "runId"): _canonical_uuid,
    (None, "eventTime"): _zoned_time,
    (Transformation, "type"): _one_of("DIRECT", "INDIRECT"),
}

# JSON types each scalar annotation accepts (bool is an int in Python, not in JSON).
SCALARS = {str: (str,), bool: (bool,), int: (int,), float: (int, float)}


def events_file() -> Path:
    """The default file transport's file under this test's GOVERN_HOME."""
    return settings.govern_home() / "openlineage" / "events.jsonl"


def read_events(path: Path | None = None) -> list[dict[str, Any]]:
    lines = (path or events_file()).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@cache
def models_by_url() -> dict[str, type]:
    """Every generated class that names its own schema URL, by that URL."""
    models = {}
    for info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for model in vars(module).values():
            own = attrs.has(model) and model.__module__ == module.__name__
            if own and "_get_schema" in vars(model):
                models[model._get_schema()] = model
    return models


@cache
def _hints(model: type) -> dict[str, Any]:
    return typing.get_type_hints(model)


def schema_errors(event: dict[str, Any]) -> list[str]:
    """Every violation of the OpenLineage model by this event; empty if it is valid."""
    url = event.get("schemaURL")
    model = models_by_url().get(url)
    if model is None or not issubclass(model, BaseEvent):
        return [f"event: no event class of the OpenLineage model has schemaURL {url!r}"]
    errors: list[str] = []
    _build(event, model, "event", errors)
    return errors


def _build(data: Any, annotation: Any, where: str, errors: list[str]) -> Any:
    """The value of this annotation built from JSON data, or INVALID (with errors said)."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return data
    if origin in BUILDERS:
        return BUILDERS[origin](data, annotation, where, errors)
    if isinstance(annotation, type) and issubclass(annotation, BaseFacet):
        return _facet(data, annotation, where, errors)
    if attrs.has(annotation):
        return _object(data, annotation, where, errors)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _enum(data, annotation, where, errors)
    return _scalar(data, annotation, where, errors)


def _union(data: Any, annotation: Any, where: str, errors: list[str]) -> Any:
    options = [a for a in typing.get_args(annotation) if a is not type(None)]
    if data is None and len(options) < len(typing.get_args(annotation)):
        return None
    if len(options) == 1:
        return _build(data, options[0], where, errors)
    for option in options:
        attempt: list[str] = []
        value = _build(data, option, where, attempt)
        if not attempt:
            return value
    errors.append(f"{where}: matches none of {[getattr(o, '__name__', o) for o in options]}")
    return INVALID


def _literal(data: Any, annotation: Any, where: str, errors: list[str]) -> Any:
    if data in typing.get_args(annotation):
        return data
    errors.append(f"{where}: {data!r} is not one of {list(typing.get_args(annotation))}")
    return INVALID


def _list(data: Any, annotation: Any, where: str, errors: list[str]) -> Any:
    if not isinstance(data, list):
        errors.append(f"{where}: expected an array, got {type(data).__name__}")
        return INVALID
    (item,) = typing.get_args(annotation)
    values = [_build(v, item, f"{where}[{i}]", errors) for i, v in enumerate(data)]
    return INVALID if any(v is INVALID for v in values) else values


def _dict(data: Any, annotation: Any, where: str, errors: list[str]) -> Any:
    if not isinstance(data, dict):
        errors.append(f"{where}: expected an object, got {type(data).__name__}")
        return INVALID
    _, item = typing.get_args(annotation)
    values = {k: _build(v, item, f"{where}.{k}", errors) for k, v in data.items()}
    return INVALID if any(v is INVALID for v in values.values()) else values


BUILDERS = {
    types.UnionType: _union,
    typing.Union: _union,
    Literal: _literal,
    list: _list,
    dict: _dict,
}


def _facet(data: Any, slot: type, where: str, errors: list[str]) -> Any:
    """A facet, as the class its ``_schemaURL`` names, if that class may sit in this slot."""
    url = data.get("_schemaURL") if isinstance(data, dict) else None
    model = models_by_url().get(url)
    if model is None or not issubclass(model, BaseFacet):
        errors.append(f"{where}: no facet class of the OpenLineage model has _schemaURL {url!r}")
        return INVALID
    if not issubclass(model, SLOT_ACCEPTS.get(slot, slot)):
        errors.append(f"{where}: {model.__name__} is not a {slot.__name__}")
        return INVALID
    return _object(data, model, where, errors)


def _object(data: Any, model: type, where: str, errors: list[str]) -> Any:
    """An instance of a generated class, so that its attrs validators run too."""
    if not isinstance(data, dict):
        errors.append(f"{where}: expected an object, got {type(data).__name__}")
        return INVALID
    before = len(errors)
    fields = {f.name: f for f in attrs.fields(model)}
    errors += [f"{where}.{k}: not a field of {model.__name__}" for k in data.keys() - fields]
    kwargs = _arguments(data, model, fields, where, errors)
    built = INVALID if len(errors) > before else _construct(model, kwargs, where, errors)
    for name in sorted(data.keys() & fields):
        errors += _spec_rule_errors(model, name, data[name], where)
    return INVALID if len(errors) > before else built


def _construct(model: type, kwargs: dict[str, Any], where: str, errors: list[str]) -> Any:
    try:
        return model(**kwargs)
    except (TypeError, ValueError) as exc:
        errors.append(f"{where}: {model.__name__} rejects it: {exc}")
        return INVALID


def _arguments(
    data: dict[str, Any], model: type, fields: dict[str, Any], where: str, errors: list[str]
) -> dict[str, Any]:
    """The constructor's arguments, from each field present; missing required ones said."""
    kwargs = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is attrs.NOTHING or name in SPEC_REQUIRED:
                errors.append(f"{where}.{name}: required by {model.__name__}, missing")
        elif not field.init:  # the schema URL, which the class sets itself
            if data[name] != model._get_schema():
                errors.append(f"{where}.{name}: {data[name]!r} is not {model.__name__}'s")
        else:
            kwargs[field.alias] = _build(data[name], _hints(model)[name], f"{where}.{name}", errors)
    return kwargs


def _spec_rule_errors(model: type, name: str, value: Any, where: str) -> list[str]:
    """The spec's own rules for this field, on strings (the type check says the rest)."""
    rule = SPEC_RULES.get((model, name)) or SPEC_RULES.get((None, name))
    problem = rule(value) if rule and isinstance(value, str) else None
    return [f"{where}.{name}: {problem}"] if problem else []


def _enum(data: Any, enum: type[Enum], where: str, errors: list[str]) -> Any:
    try:
        return enum(data)
    except ValueError:
        errors.append(f"{where}: {data!r} is not one of {[e.value for e in enum]}")
        return INVALID


def _scalar(data: Any, annotation: Any, where: str, errors: list[str]) -> Any:
    accepted = SCALARS.get(annotation)
    if accepted is None:
        errors.append(f"{where}: the validator cannot check a {annotation!r}")
        return INVALID
    if isinstance(data, accepted) and (annotation is bool or not isinstance(data, bool)):
        return data
    errors.append(f"{where}: expected {annotation.__name__}, got {type(data).__name__}")
    return INVALID
