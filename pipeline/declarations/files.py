"""Declaration files: YAML/JSON into pydantic models with errors naming file and key; hashes;
writing a file so that a reader sees it whole or not at all."""

import hashlib
import json
import os
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


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it and a rename: a process
    reading ``path`` meanwhile sees the old file or the new one, never half of either."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
