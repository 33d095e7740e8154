"""Sanitise inbound HTML with nh3 and turn it into readable plain text without heavy dependencies."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

__all__ = ["html_to_text", "sanitize_html"]

# cid: keeps inline images (Content-ID references) working; everything else is nh3's safe default.
_URL_SCHEMES = set(nh3.ALLOWED_URL_SCHEMES) | {"cid"}
_BLOCK_TAGS = {
    "address", "article", "aside", "div", "dl", "dt", "dd", "fieldset", "figure", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tr", "ul",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript"}


def sanitize_html(html: str) -> str:
    """HTML safe to show to agents: no scripts, event handlers, javascript: URLs or styles blocks."""
    return nh3.clean(html.replace("\x00", ""), url_schemes=_URL_SCHEMES)


class _TextExtractor(HTMLParser):
    """Collects visible text line by line, remembering each line's blockquote depth."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._current: list[str] = []
        self._line_depth = 0
        self._quote_depth = 0
        self._skip_depth = 0
        self._pre_depth = 0
        self._href_stack: list[str | None] = []

    def _newline(self) -> None:
        text = "".join(self._current)
        if self._pre_depth == 0:
            text = re.sub(r"[ \t\u00a0]+", " ", text).strip()
        self.lines.append((self._line_depth, text))
        self._current = []
        self._line_depth = self._quote_depth

    def _block_break(self) -> None:
        if self._current and "".join(self._current).strip():
            self._newline()
        self._line_depth = self._quote_depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._newline()
        elif tag == "blockquote":
            self._block_break()
            self._quote_depth += 1
            self._line_depth = self._quote_depth
        elif tag in _BLOCK_TAGS:
            self._block_break()
            if tag == "pre":
                self._pre_depth += 1
            if tag == "li":
                self._current.append("- ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._current.append(f"[{alt}]")
        elif tag == "a":
            self._href_stack.append(dict(attrs).get("href"))
        elif tag in {"td", "th"}:
            self._current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "blockquote":
            self._block_break()
            self._quote_depth = max(0, self._quote_depth - 1)
            self._line_depth = self._quote_depth
        elif tag in _BLOCK_TAGS:
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            self._block_break()
        elif tag == "a" and self._href_stack:
            href = self._href_stack.pop()
            shown = "".join(self._current)
            # Agents need the real target of a link, unless the link text already shows it.
            if href and href.startswith(("http://", "https://")) and href not in shown:
                self._current.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            for index, piece in enumerate(data.split("\n")):
                if index:
                    self._newline()
                self._current.append(piece)
        else:
            self._current.append(data.replace("\r", " ").replace("\n", " "))

    def close(self) -> None:
        super().close()
        if self._current:
            self._newline()


def html_to_text(html: str) -> str:
    """Readable plain text for an HTML body: blocks become lines, blockquotes become '> ' quotes."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    rendered: list[str] = []
    for depth, text in extractor.lines:
        prefix = "> " * depth
        rendered.append(f"{prefix}{text}".rstrip() if text or depth else "")
    # Collapse runs of blank lines left by nested empty blocks.
    output = re.sub(r"\n{3,}", "\n\n", "\n".join(rendered))
    return output.strip("\n")
