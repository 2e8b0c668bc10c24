"""Whether a source file can be ingested at all, and errors that say why not.

Errors name the file, the line and the column, and what to do; never a line's content: line 1
may be data rather than a header, a raw line can hold personal data, and errors end up in run
summaries and Dagster logs.
"""

import codecs
import re
from pathlib import Path

import duckdb

from pipeline.declarations.dataset import SourceSpec
from pipeline.errors import IngestError

# Bytes of line 1 read to check the header; a longer first line is not a header.
HEADER_BYTES = 1 << 20
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def check_readable(path: Path, spec: SourceSpec) -> None:
    """Fail early, and clearly, on a file that cannot be ingested at all."""
    if not path.exists():
        raise IngestError(
            f"{path}: source file not found; check the path in the declaration "
            "or pass --source NAME=PATH"
        )
    if path.is_dir():
        raise IngestError(
            f"{path}: is a directory; a source is one CSV or Parquet file: pass the file "
            "itself (--source NAME=DIR/FILE.csv) or fix the path in the declaration"
        )
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file; a source is one CSV or Parquet file")
    try:
        if path.stat().st_size == 0:
            raise IngestError(f"{path}: the file is empty; expected a header line and rows")
        if spec.file_format == "csv":
            _check_csv_header(path, spec)
    except OSError as exc:
        raise IngestError(
            f"{path}: cannot be read ({exc.strerror}); check the file's permissions"
        ) from None


def _check_csv_header(path: Path, spec: SourceSpec) -> None:
    with path.open("rb") as handle:
        first = handle.readline(HEADER_BYTES)
    if len(first) == HEADER_BYTES and not first.endswith(b"\n"):
        raise IngestError(
            f"{path}: line 1 is longer than {HEADER_BYTES} bytes: not a header line; "
            "is this a CSV file?"
        )
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    try:
        header_line = first.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: line 1, byte {exc.start + 1}: not UTF-8 ({exc.reason}); "
            "re-encode the file as UTF-8"
        ) from None
    header = [name.strip().strip('"') for name in header_line.split(spec.delimiter)]
    expected = list(spec.columns)
    if header != expected:
        raise IngestError(
            f"{path}: line 1 (header): {_header_problem(header, expected, spec.delimiter)}"
        )


def _header_problem(header: list[str], expected: list[str], delimiter: str) -> str:
    """How ``header`` differs from the declared columns, naming only what is safe to show.

    Line 1 may be data rather than a header (a wrong file, a headerless export), so its
    fields are shown only when the line is recognisably a header (half of it or more are
    declared names) and the field looks like a column name; otherwise by position.
    """
    if len(header) == 1 and len(expected) > 1:
        return (
            f"found one column; expected {len(expected)} separated by {delimiter!r} "
            "(wrong delimiter?)"
        )
    missing = [c for c in expected if c not in header]
    extra = [(n, c) for n, c in enumerate(header, 1) if c not in expected]
    details = []
    if missing:
        details.append(f"missing columns {missing}")
    if extra:
        is_header = 2 * (len(header) - len(extra)) >= len(header)
        if is_header and all(_IDENTIFIER.match(c) for _, c in extra):
            details.append(f"unexpected columns {[c for _, c in extra]}")
        else:
            details.append(f"unexpected columns at positions {[n for n, _ in extra]}")
    if not details:
        details.append(f"columns out of order: {header}")
    return (
        f"{'; '.join(details)}. Update the source's columns in its dataset declaration, "
        "or fix the file."
    )


def unreadable(path: Path, exc: duckdb.Error) -> IngestError:
    """DuckDB's reason without what it quotes of the file: file, line and what to do."""
    message = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f"line {line.group(1)}: " if line else ""
    reason = re.sub(r"([\'\"]).*?\1", "...", message.splitlines()[0] if message else "")
    return IngestError(
        f"{path}: {where}DuckDB cannot read the file ({reason or type(exc).__name__}); check "
        "its format, line endings and quoting, or export it again"
    )
