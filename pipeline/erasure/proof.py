"""The proof of an erasure: search every byte the pipeline keeps for the subject's values.

Values are compared as keyed fingerprints of their normalized form (lower case, letters and
digits only, so ``(212) 555-0181`` and ``212.555.0181`` are one phone number): the ledger keeps
the fingerprints, never the values, and ``govern erase --verify`` needs nothing else. Every file
is read as text runs (binary files too: SQLite databases, model files), cut into words, and
every run of one to four words is a candidate. Parquet files, whose pages may be compressed or
dictionary-encoded, are also decoded and every cell is a candidate: a byte search of compressed
pages alone would prove nothing. Values shorter than ``MIN_LENGTH`` are not searched (they would
match by chance); the proof says which kinds were too short.
"""

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

MIN_LENGTH = 6
MAX_WORDS = 4
_SALT = b"govern:erasure-proof:"
_RUNS = re.compile(r"[^\x00-\x08\x0e-\x1f\x7f\ufffd]{3,}")
_WORD_BREAK = re.compile(r"[\s,;|\"'=:{}\[\]<>\\/`]+")
_CHUNK = 4 << 20
# What is not a letter or a digit (``str.isalnum``): ``\w`` matches exactly those and "_".
_NOT_ALNUM = re.compile(r"[\W_]+")


def normalize(value: str) -> str:
    return _NOT_ALNUM.sub("", value.lower())


def fingerprint(key: bytes, value: str) -> str:
    """A keyed fingerprint of a normalized value (never reversible without the key)."""
    return hmac.new(key, _SALT + normalize(value).encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def fingerprints(key: bytes, values: dict[str, set[str]]) -> tuple[dict[str, str], list[str]]:
    """Fingerprint -> kind of every value long enough to search for; the kinds too short."""
    prints, short = {}, []
    for kind, kind_values in values.items():
        searchable = [v for v in kind_values if len(normalize(v)) >= MIN_LENGTH]
        prints.update({fingerprint(key, v): kind for v in searchable})
        if len(searchable) < len(kind_values):
            short.append(kind)
    return prints, sorted(set(short))


@dataclass
class Place:
    """One place searched: what it is, how many files, and each kind found there (counts)."""

    label: str
    files: int = 0
    decoded_files: int = 0
    found: Counter = field(default_factory=Counter)
    where: set[str] = field(default_factory=set)  # files with a hit (paths, never values)

    def as_record(self) -> dict[str, Any]:
        """The place for the ledger and ``--json``: counts and paths, never a value."""
        return {
            "place": self.label,
            "files": self.files,
            "parquet_decoded": self.decoded_files,
            "found": dict(self.found),
            "files_with_hits": sorted(self.where),
        }


@dataclass(frozen=True)
class Searcher:
    key: bytes
    prints: dict[str, str]
    longest: int

    @classmethod
    def of(cls, key: bytes, prints: dict[str, str], lengths: Iterable[int]) -> "Searcher":
        return cls(key, prints, max(lengths, default=0))

    def hits(self, candidates: set[str]) -> Counter:
        found: Counter = Counter()
        for text in candidates:
            if MIN_LENGTH <= len(text) <= self.longest:
                kind = self.prints.get(
                    hmac.new(self.key, _SALT + text.encode(), hashlib.sha256).hexdigest()[:32]
                )
                if kind:
                    found[kind] += 1
        return found


def text_candidates(text: str) -> set[str]:
    """Every normalized run of one to ``MAX_WORDS`` words of each printable run of ``text``."""
    out = set()
    for run in _RUNS.findall(text):
        words = [normalize(w) for w in _WORD_BREAK.split(run)]
        words = [w for w in words if w]
        for size in range(1, MAX_WORDS + 1):
            for start in range(len(words) - size + 1):
                out.add("".join(words[start : start + size]))
    return out


def search_bytes(path: Path, searcher: Searcher) -> Counter:
    """Hits in a file's bytes read as text (chunks overlap so no value is cut in two)."""
    found: Counter = Counter()
    with path.open("rb") as handle:
        tail = b""
        while chunk := handle.read(_CHUNK):
            data = tail + chunk
            found += searcher.hits(text_candidates(data.decode("utf-8", errors="replace")))
            tail = data[-512:]
    return found


def search_parquet(path: Path, searcher: Searcher) -> Counter:
    """Hits in every decoded cell of a Parquet file (each cell whole, and its words); each
    distinct value of a column is read once (plans, dates and codes repeat in every row)."""
    table = pq.read_table(path)
    candidates: set[str] = set()
    for column in table.columns:
        values = column.unique() if _hashable(column.type) else column
        for value in values.to_pylist():
            if value is None:
                continue
            text = str(value)
            candidates.add(normalize(text))
            candidates |= text_candidates(text)
    return searcher.hits(candidates)


def _hashable(kind: pa.DataType) -> bool:
    """Whether Arrow can compute the distinct values of a column of this type."""
    return not (pa.types.is_nested(kind) or pa.types.is_dictionary(kind))


def search_place(place: Place, files: Iterable[Path], searcher: Searcher) -> Place:
    for path in files:
        place.files += 1
        found = search_bytes(path, searcher)
        if path.suffix == ".parquet":
            place.decoded_files += 1
            found += search_parquet(path, searcher)
        if found:
            place.found += found
            place.where.add(str(path))
    return place
