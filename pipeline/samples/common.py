"""Seeded helpers the sample generators share.

The churn and readmission generators and the labelled PII corpus all need the same small tools:
independent seeded random streams, weighted picks, ASCII folding for email addresses, Luhn check
digits, locale-free date renderings, the dirt that makes a clean table look like a real export
(blank and padded cells, duplicated and malformed rows) and a byte-stable CSV writer. They live
here once, instead of one generator reaching into another's private helpers or keeping a copy.

Every helper is deterministic: given the same ``random.Random`` state (or the same seed and
stream name) it makes the same draws in the same order, so the committed samples stay
byte-identical. Where the generators draw differently on purpose (how whitespace targets are
chosen, which date formats a column mixes), the difference is a parameter, not a second copy.
"""

import bisect
import csv
import functools
import hashlib
import io
import math
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

# "Today" for the sample data; never the wall clock, or output would drift day by day.
REFERENCE_DATE = date(2026, 6, 30)

# Month names are hard-coded: strftime("%b") and ("%B") depend on the locale.
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
MONTH_ABBR = tuple(name[:3] for name in MONTH_NAMES)

# Leading/trailing whitespace left behind by copy-paste, drawn uniformly by pad_cells.
PADDINGS = ((" ", ""), ("", " "), ("  ", " "), ("", "  "))

# The mangle callback of insert_malformed: (rng, template row, kind, new id) -> broken row.
Mangle = Callable[[random.Random, list[str], str, int], list[str]]


# --------------------------------------------------------------------------------------------
# Random draws
# --------------------------------------------------------------------------------------------


def stream_rng(seed: int, stream: str) -> random.Random:
    """An independent RNG per named stream, so adding draws to one never shifts another."""
    digest = hashlib.sha256(f"{seed}:{stream}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@functools.cache
def _cumulative[T](options: tuple[tuple[T, int], ...]) -> tuple[tuple[T, ...], tuple[int, ...]]:
    """Values and cumulative weights of a (value, weight) table, computed once per table."""
    values = tuple(value for value, _ in options)
    bounds, running = [], 0
    for _, weight in options:
        running += weight
        bounds.append(running)
    return values, tuple(bounds)


def weighted[T](rng: random.Random, options: tuple[tuple[T, int], ...]) -> T:
    """Pick from (value, weight) pairs (integer weights) with one draw, in fixed table order."""
    values, bounds = _cumulative(options)
    return values[bisect.bisect_right(bounds, rng.random() * bounds[-1])]


def pick[T](rng: random.Random, options: Sequence[T]) -> T:
    """Uniform choice with a single ``random()`` draw (not ``rng.choice``: it draws differently)."""
    return options[int(rng.random() * len(options))]


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's Poisson sampler; the means here are small, so it is fast enough."""
    limit = math.exp(-lam)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def random_ordinal(rng: random.Random, first: date, last: date) -> int:
    """A uniformly drawn day in [first, last], as a proleptic Gregorian ordinal."""
    return rng.randint(first.toordinal(), last.toordinal())


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def ascii_fold(text: str) -> str:
    """Fold a name to lowercase ASCII letters and digits for email local parts.

    Ł and Đ do not decompose under NFKD, so they are mapped explicitly."""
    text = text.replace("Ł", "L").replace("ł", "l").replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


def luhn_check_digit(body: str) -> str:
    """The digit that makes body + digit pass the Luhn test."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def card_renderings(number: str) -> dict[str, str]:
    """The ways systems print one card: plain, spaced or dashed (15-digit Amex as 4-6-5)."""
    if len(number) == 15:
        groups = (number[:4], number[4:10], number[10:])
    else:
        groups = (number[:4], number[4:8], number[8:12], number[12:])
    return {"plain": number, "spaced": " ".join(groups), "dashed": "-".join(groups)}


@functools.cache
def date_renderings(ordinal: int) -> dict[str, str]:
    """Every supported rendering of one day, by style name (cached: days recur constantly).

    iso 2026-06-30, dotted 30.06.2026, slashed 2026/06/30, text 30 Jun 2026, us 06/30/2026,
    long 30 June 2026 (day not padded), long_us June 30, 2026."""
    day = date.fromordinal(ordinal)
    month = MONTH_NAMES[day.month - 1]
    return {
        "iso": f"{day.year:04d}-{day.month:02d}-{day.day:02d}",
        "dotted": f"{day.day:02d}.{day.month:02d}.{day.year:04d}",
        "slashed": f"{day.year:04d}/{day.month:02d}/{day.day:02d}",
        "text": f"{day.day:02d} {MONTH_ABBR[day.month - 1]} {day.year:04d}",
        "us": f"{day.month:02d}/{day.day:02d}/{day.year:04d}",
        "long": f"{day.day} {month} {day.year:04d}",
        "long_us": f"{month} {day.day}, {day.year:04d}",
    }


def format_date(rng: random.Random, ordinal: int, styles: tuple[tuple[str, int], ...]) -> str:
    """Render a day in a style drawn from (style name, weight) pairs, as mixed exports do."""
    return date_renderings(ordinal)[weighted(rng, styles)]


# --------------------------------------------------------------------------------------------
# Dirt: what turns clean rows into a realistic export
# --------------------------------------------------------------------------------------------


def dirt_count(rate: float, population: int, guaranteed: bool) -> int:
    """Proportional count, at least one when the guarantee applies and anything is eligible."""
    count = round(rate * population)
    if guaranteed and population > 0:
        count = max(1, count)
    return min(count, population)


def blank_cells(
    rng: random.Random,
    rows: list[list[str]],
    columns: tuple[str, ...],
    protected: frozenset[str],
    rate: float,
    guaranteed: bool,
) -> None:
    """Empty a share (rate) of the cells outside the protected columns, in place."""
    targets = [i for i, name in enumerate(columns) if name not in protected]
    population = len(rows) * len(targets)
    for cell in rng.sample(range(population), dirt_count(rate, population, guaranteed)):
        rows[cell // len(targets)][targets[cell % len(targets)]] = ""


def pad_cells(
    rng: random.Random,
    rows: list[list[str]],
    columns: tuple[str, ...],
    numeric: frozenset[str],
    rate: float,
    guaranteed: bool,
    *,
    filled_only: bool,
) -> None:
    """Add leading/trailing spaces to a share (rate) of the non-numeric cells, in place.

    filled_only=True draws among the non-empty cells, so the share is exact. filled_only=False
    draws among all non-numeric cells and leaves a chosen empty cell alone (and draws no padding
    for it), so blanks lower the share slightly. The two draw differently: each generator keeps
    the one its committed sample was made with."""
    targets = [i for i, name in enumerate(columns) if name not in numeric]
    if filled_only:
        cells = [(r, c) for r, row in enumerate(rows) for c in targets if row[c]]
    else:
        cells = [(r, c) for r in range(len(rows)) for c in targets]
    chosen = rng.sample(range(len(cells)), dirt_count(rate, len(cells), guaranteed))
    for index in sorted(chosen):
        row, col = rows[cells[index][0]], cells[index][1]
        if not row[col]:
            continue
        lead, trail = pick(rng, PADDINGS)
        row[col] = f"{lead}{row[col]}{trail}"


def duplicate_rows(
    rng: random.Random, rows: list[list[str]], rate: float, guaranteed: bool
) -> list[list[str]]:
    """Re-emit a share (rate) of rows as exact copies, adjacent or up to three lines later."""
    chosen = set(rng.sample(range(len(rows)), dirt_count(rate, len(rows), guaranteed)))
    pending: list[tuple[int, list[str]]] = []
    out: list[list[str]] = []
    for index, row in enumerate(rows):
        out.append(row)
        if index in chosen:
            pending.append((index + rng.randint(0, 3), list(row)))
        while pending and pending[0][0] <= index:
            out.append(pending.pop(0)[1])
    out.extend(copy for _, copy in pending)
    return out


def insert_malformed(
    rng: random.Random,
    rows: list[list[str]],
    clean_count: int,
    kinds: tuple[str, ...],
    first_free_id: int,
    rate: float,
    guaranteed: bool,
    mangle: Mangle,
) -> list[list[str]]:
    """Scatter rate * clean_count malformed lines made by mangle from random rows.

    Kinds are used in turn and every kind appears at least once under the guarantee; each line
    gets a fresh id from first_free_id on, so the clean ids stay unique."""
    if not rows:
        return rows
    count = round(rate * clean_count)
    if guaranteed:
        count = max(count, len(kinds))
    out = list(rows)
    for index in range(count):
        template = rows[rng.randrange(len(rows))]
        broken = mangle(rng, template, kinds[index % len(kinds)], first_free_id + index)
        out.insert(rng.randrange(len(out) + 1), broken)
    return out


@dataclass(frozen=True)
class Dirt:
    """How dirty a generator's exports are: shares of cells, rows and malformed lines.

    ``pad_filled_only`` picks how whitespace targets are drawn (see ``pad_cells``); each
    generator keeps the draw its committed sample was made with."""

    missing: float
    whitespace: float
    duplicate: float
    malformed: float
    pad_filled_only: bool


@dataclass(frozen=True)
class TableShape:
    """What the dirt step must know of one exported table."""

    columns: tuple[str, ...]
    protected: frozenset[str]  # never blanked: ids and labels stay usable
    numeric: frozenset[str]  # never padded with whitespace
    malformed_kinds: tuple[str, ...]
    first_id: int  # malformed lines take fresh ids after the clean ones
    mangle: Mangle


def dirty_csv(
    rng: random.Random, rows: list[list[str]], table: TableShape, dirt: Dirt, guaranteed: bool
) -> str:
    """Blanks, whitespace, duplicates, then malformed lines, in that order; the table as CSV.

    ``rows`` (the clean rows, one per id) are modified in place."""
    clean_count = len(rows)
    blank_cells(rng, rows, table.columns, table.protected, dirt.missing, guaranteed)
    pad_cells(
        rng,
        rows,
        table.columns,
        table.numeric,
        dirt.whitespace,
        guaranteed,
        filled_only=dirt.pad_filled_only,
    )
    rows = duplicate_rows(rng, rows, dirt.duplicate, guaranteed)
    rows = insert_malformed(
        rng,
        rows,
        clean_count,
        table.malformed_kinds,
        table.first_id + clean_count,
        dirt.malformed,
        guaranteed,
        table.mangle,
    )
    return to_csv(table.columns, rows)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def to_csv(columns: tuple[str, ...], rows: list[list[str]]) -> str:
    """Header plus rows with minimal quoting and LF line endings: what most exporters emit."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv_files(out_dir: Path, texts: dict[str, str]) -> dict[str, Path]:
    """Write each text to out_dir/<name>.csv (folder created if missing); return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in texts.items():
        path = out_dir / f"{name}.csv"
        # newline="" keeps "\n" as is on every platform; explicit UTF-8, no BOM.
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        paths[name] = path
    return paths
