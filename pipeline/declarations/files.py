"""Declaration files: YAML/JSON into pydantic models with errors naming file and key; hashes."""

import hashlib
import json
from pathlib import Path

import pydantic
import yaml

from pipeline.errors import DeclarationError


def read_mapping(path: Path) -> dict:
    """Parse a YAML or JSON file that must hold a mapping."""
    if not path.is_file():
        raise DeclarationError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DeclarationError(f"{path}: not valid {path.suffix.lstrip('.')}: {exc}") from None
    if not isinstance(data, dict):
        raise DeclarationError(f"{path}: expected a mapping at the top level")
    return data


def validate_file[ModelT: pydantic.BaseModel](
    model: type[ModelT], path: Path, data: dict | None = None
) -> ModelT:
    """Validate ``path`` against ``model``; a failure names the file, the key path and why."""
    data = read_mapping(path) if data is None else data
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(top level)"
            problems.append(f"{path}: {key}: {err['msg']}")
        raise DeclarationError("\n".join(problems)) from None


def file_hash(path: Path) -> str:
    """Content hash of a declaration file, used as code version and in lineage."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
