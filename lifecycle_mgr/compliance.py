"""The compliance map (issue 16, item 3) as the console shows it: docs/compliance.md,
read and split into its sections, paragraphs and tables. One source: the page and the
document can never say different things. Only the Markdown the document uses is read
(`#`/`##` headings, paragraphs, `-` lists, pipe tables); inline marks are dropped, and
everything is escaped by the template."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

DOCUMENT = Path(settings.BASE_DIR) / "docs" / "compliance.md"
_INLINE = re.compile(r"\*\*|`|\[([^\]]+)\]\([^)]*\)")


def plain(text: str) -> str:
    return _INLINE.sub(lambda m: m.group(1) or "", text).strip()


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    return [plain(cell) for cell in line.strip().strip("|").split("|")]


@functools.cache
def sections(path: Path = DOCUMENT) -> tuple[Section, ...]:
    found: list[Section] = []
    current = Section("")
    paragraph: list[str] = []

    def close_paragraph():
        if paragraph:
            current.paragraphs.append(plain(" ".join(paragraph)))
            paragraph.clear()

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            close_paragraph()
            if current.title or current.paragraphs:
                found.append(current)
            current = Section(plain(line.lstrip("#")))
        elif line.startswith("|"):
            close_paragraph()
            cells = _cells(line)
            if all(set(c) <= set("-: ") for c in cells):
                continue  # the header's separator
            if not current.header:
                current.header = cells
            else:
                current.rows.append(cells)
        elif line.startswith("- "):
            close_paragraph()
            current.items.append(plain(line[2:]))
        elif not line:
            close_paragraph()
        elif current.items and raw.startswith("  "):
            current.items[-1] += " " + plain(line)  # a list item's continuation
        else:
            paragraph.append(line)
    close_paragraph()
    found.append(current)
    return tuple(found)
