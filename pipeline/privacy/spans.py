"""Span arithmetic for detections: hits, overlaps, replacement tags, masked-text offsets.

A hit is an entity found at ``[start, end)`` of one text. Redacted text carries ``<ENTITY>``
tags; a text can be shown to NER with its pattern hits already masked as tags, and offsets found
in the masked text are mapped back to the original.
"""

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from pipeline.privacy.entities import PRIORITY

TAG = re.compile(r"<[A-Z][A-Z0-9_]*>")


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    entity: str
    score: float


# A masked text's pieces: (start in the masked text, start in the original, length).
Segments = list[tuple[int, int, int]]


def tag_spans(text: str) -> list[tuple[int, int]]:
    return [tag.span() for tag in TAG.finditer(text)]


def in_tag(tags: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) touches one of the replacement tags (such as <PHONE_NUMBER>).

    ``tags`` are in order and never overlap (``tag_spans``), so the last one that starts before
    ``end`` is the only one that can reach past ``start``: a bisection, not a scan of every
    tag (a long cell redacted once holds thousands of them).
    """
    index = bisect.bisect_left(tags, end, key=lambda tag: tag[0]) - 1
    return index >= 0 and tags[index][1] > start


def outside_tags(text: str, hits: list[Hit]) -> list[Hit]:
    """The hits that are not just an earlier replacement tag (text already redacted once)."""
    return [h for h in hits if not TAG.fullmatch(text[h.start : h.end].strip())]


def resolve_hits(hits: list[Hit]) -> list[Hit]:
    """Non-overlapping hits: the longer wins, then the stronger entity, then the higher score.

    The hits kept so far are held in order of their start, so each new one is checked against
    its two neighbours only: a long cell can hold tens of thousands of hits.
    """
    ordered = sorted(
        hits, key=lambda h: (-(h.end - h.start), -PRIORITY.get(h.entity, 0), -h.score, h.start)
    )
    kept: list[Hit] = []  # in order of start; they never overlap
    for hit in ordered:
        index = bisect.bisect_left(kept, hit.start, key=lambda k: k.start)
        if index and kept[index - 1].end > hit.start:
            continue
        if index < len(kept) and kept[index].start < hit.end:
            continue
        kept.insert(index, hit)
    return kept


def mask_hits(text: str, hits: list[Hit]) -> tuple[str, Segments]:
    """``text`` with hits replaced by tags, and the segments that map offsets back."""
    pieces, segments, last, masked_length = [], [], 0, 0
    for hit in hits:
        plain = text[last : hit.start]
        segments.append((masked_length, last, len(plain)))
        tag = f"<{hit.entity}>"
        pieces += [plain, tag]
        masked_length += len(plain) + len(tag)
        last = hit.end
    segments.append((masked_length, last, len(text) - last))
    pieces.append(text[last:])
    return "".join(pieces), segments


def unmask(segments: Segments, masked_position: int) -> int:
    """Original offset of a masked-text position that lies outside every tag."""
    index = bisect.bisect_right(segments, masked_position, key=lambda s: s[0]) - 1
    masked_start, original_start, _ = segments[max(index, 0)]
    return original_start + (masked_position - masked_start)


def unmask_span(segments: Segments, start: int, end: int) -> tuple[int, int]:
    """Original ``[start, end)`` of a masked-text span that lies outside every tag."""
    return unmask(segments, start), unmask(segments, end - 1) + 1


def trimmed(text: str, hits: Iterable[Hit]) -> list[Hit]:
    """``hits`` without the white space at their ends: a tag never swallows a line break or
    the space between words (NER's span for "Capucine Colas" at the end of a line can hold
    the line break; replaced, it glued the next line to the tag, "<PERSON>paid 566.44")."""
    kept = []
    for hit in hits:
        value = text[hit.start : hit.end]
        start = hit.start + len(value) - len(value.lstrip())
        end = hit.end - (len(value) - len(value.rstrip()))
        if start < end:
            kept.append(replace(hit, start=start, end=end))
    return kept


def off_tags(text: str, hits: Iterable[Hit], tags: list[tuple[int, int]]) -> list[Hit]:
    """``hits`` cut back where an end runs into a replacement tag, then ``trimmed``: NER on
    redacted text can take a tag's bracket into a name ("Polák k.s.\\n<" before
    ``<STREET_ADDRESS>``), and replacing that span would break the tag."""
    cut = []
    for hit in hits:
        start, end = hit.start, hit.end
        index = bisect.bisect_right(tags, start, key=lambda tag: tag[0]) - 1
        if index >= 0 and tags[index][0] <= start < tags[index][1]:
            start = tags[index][1]
        index = bisect.bisect_left(tags, end, key=lambda tag: tag[0]) - 1
        if index >= 0 and tags[index][0] < end < tags[index][1]:
            end = tags[index][0]
        if start < end:
            cut.append(replace(hit, start=start, end=end))
    return trimmed(text, cut)


def replace_hits(text: str, hits: Sequence[Hit]) -> str:
    """Presidio's ``replace`` operator: each hit becomes its ``<ENTITY>`` tag."""
    pieces, last = [], 0
    for hit in sorted(trimmed(text, hits), key=lambda h: h.start):
        if hit.start < last:
            continue
        pieces += [text[last : hit.start], f"<{hit.entity}>"]
        last = hit.end
    pieces.append(text[last:])
    return "".join(pieces)
