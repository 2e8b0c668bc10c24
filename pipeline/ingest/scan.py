"""Streaming passes over a source file's bytes: its sha256, its last line, its empty lines.

DuckDB's CSV reader skips empty lines without a trace and keeps only the first characters of a
rejected line, so not every line number can come from it. These passes find what it hides. The
work is done per 1 MiB chunk by C code (``hashlib``, ``bytes.count``, ``re``): Python loops per
chunk and per empty line, never per line, and the file is never held whole.
"""

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

CHUNK_BYTES = 1 << 20
# A line break followed by an empty line (LF or CRLF); the match ends before the empty line.
_EMPTY_LINE_AHEAD = re.compile(rb"\n(?=\r?\n)")
# Bytes that look-ahead may need past a line break: held back until the next chunk.
_LOOKAHEAD = 2


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(CHUNK_BYTES), b"")


def file_digest(path: Path) -> tuple[str, int]:
    """The file's sha256 (as ``sha256sum`` prints it) and size in bytes."""
    digest, size = hashlib.sha256(), 0
    for chunk in _chunks(path):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def last_line(path: Path) -> int:
    """Number of the last line holding anything but a line break (0 for an empty file)."""
    last = breaks = 0
    for chunk in _chunks(path):
        content = len(chunk.rstrip(b"\r\n"))
        chunk_breaks = chunk.count(b"\n")
        if content:
            last = breaks + chunk_breaks - chunk.count(b"\n", content) + 1
        breaks += chunk_breaks
    return last


def empty_lines(path: Path, last_line: int) -> list[int]:
    """Numbers of the empty lines before ``last_line``, in order (a second, rarer pass)."""
    found: list[int] = []
    breaks = 0  # line breaks before the current window
    carry = b""
    for chunk in _chunks(path):
        window = carry + chunk
        cut = max(len(window) - _LOOKAHEAD, 0)
        found.extend(_empty_lines_in(window, cut, breaks))
        breaks += window.count(b"\n", 0, cut)
        carry = window[cut:]
    found.extend(_empty_lines_in(carry, len(carry), breaks))
    return [line for line in found if line < last_line]


def _empty_lines_in(window: bytes, cut: int, breaks: int) -> list[int]:
    """Numbers of the empty lines that follow a line break in ``window[:cut]``."""
    found, position = [], 0
    for match in _EMPTY_LINE_AHEAD.finditer(window):
        if match.start() >= cut:
            break
        breaks += window.count(b"\n", position, match.start() + 1)
        position = match.start() + 1
        found.append(breaks + 1)
    return found
