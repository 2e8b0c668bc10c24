"""Landing files without the subject's rows: read record by record, rewritten atomically.

A CSV file is rewritten line for line: every record not about the subject keeps its exact bytes
(a malformed line stays malformed, for ingest to quarantine as before), so nothing else is lost
and the only change is the rows removed. A Parquet file is filtered and written again. Either way
the new file replaces the old one in one ``os.replace``: a reader sees the old file or the new.
"""

import csv
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.declarations.dataset import SourceSpec
from pipeline.ingest.reader import file_sha256

_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


@dataclass(frozen=True)
class Record:
    """One CSV record and the lines it spans (``start`` included, ``end`` excluded)."""

    fields: dict[str, str]
    start: int
    end: int


@dataclass(frozen=True)
class Rewritten:
    """A landing file after the subject's rows were taken out."""

    path: str
    rows_removed: int
    sha256_before: str
    sha256_after: str


def _lines(path: Path) -> list[str]:
    return _LINE.findall(path.read_text(encoding="utf-8"))


def csv_records(lines: list[str], delimiter: str) -> tuple[list[str], Iterator[Record]]:
    """The header and each record with its line span (a quoted value may span lines)."""
    consumed = 0

    def feed() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += 1
            yield line

    reader = csv.reader(feed(), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]

    def records() -> Iterator[Record]:
        start = consumed
        for fields in reader:
            if len(fields) != len(header) and consumed - start > 1:
                # An open quote swallowed the lines after it: only its first line is this
                # record; the others are never removed with it.
                yield Record(dict(zip(header, fields, strict=False)), start, start + 1)
            else:
                yield Record(dict(zip(header, fields, strict=False)), start, consumed)
            start = consumed

    return header, records()


def matching_rows(path: Path, spec: SourceSpec, column: str, values: set[str]) -> list[dict]:
    """The rows of a landing file whose ``column`` is one of ``values`` (as text)."""
    if not path.is_file():
        return []
    if spec.file_format == "parquet":
        return _parquet_matches(path, column, values).to_pylist()
    _, records = csv_records(_lines(path), spec.delimiter)
    return [r.fields for r in records if r.fields.get(column, "").strip() in values]


def _parquet_matches(path: Path, column: str, values: set[str]) -> pa.Table:
    table = pq.read_table(path)
    if column not in table.column_names:
        return table.slice(0, 0)
    return table.filter(_is_in(table[column], values))


def _is_in(column: pa.ChunkedArray, values: set[str]) -> pa.ChunkedArray:
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    return pc.fill_null(pc.is_in(text, value_set=pa.array(sorted(values), pa.string())), False)


def rewrite_without(path: Path, spec: SourceSpec, column: str, values: set[str]) -> Rewritten:
    """Replace ``path`` by itself without the rows whose ``column`` is one of ``values``."""
    before = file_sha256(path)
    if spec.file_format == "parquet":
        table = pq.read_table(path)
        keep = pc.invert(_is_in(table[column], values)) if column in table.column_names else None
        kept = table if keep is None else table.filter(keep)
        removed = table.num_rows - kept.num_rows
        if removed:
            _replace(path, lambda tmp: pq.write_table(kept, tmp))
    else:
        lines = _lines(path)
        _, records = csv_records(lines, spec.delimiter)
        drop, removed = set(), 0
        for record in records:
            if record.fields.get(column, "").strip() in values:
                drop.update(range(record.start, record.end))
                removed += 1
        if drop:
            text = "".join(line for i, line in enumerate(lines) if i not in drop)
            _replace(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return Rewritten(str(path), removed, before, file_sha256(path))


def _replace(path: Path, write) -> None:
    """Write through a temporary file beside ``path`` (same mode), then swap it in."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
