"""Parse a job board's results page into plain dicts (standard library only).

Kept apart from the operation so it can be tested without a database. The board marks
each posting as `<article class="posting" data-id=...>` with one element per field,
identified by its class.
"""

from datetime import datetime
from html.parser import HTMLParser
from typing import Any

TEXT_FIELDS = {"title", "company", "location", "remote", "description"}


class PostingsParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.postings: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None
        self._text_field: str | None = None
        self._text_depth = 0
        self._in_skill = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        css_class = attributes.get("class", "")
        if tag == "article" and css_class == "posting":
            self._current = {"external_id": attributes.get("data-id"), "skills": []}
            return
        if self._current is None:
            return
        if self._text_field is not None:
            self._text_depth += 1
        elif css_class in TEXT_FIELDS:
            self._text_field, self._text_depth = css_class, 1
            self._current[css_class] = ""
        elif css_class == "salary":
            self._current["salary_min"] = _int_or_none(attributes.get("data-min"))
            self._current["salary_max"] = _int_or_none(attributes.get("data-max"))
            self._current["currency"] = attributes.get("data-currency") or "EUR"
        elif css_class == "posted" and attributes.get("datetime"):
            self._current["posted_at"] = datetime.fromisoformat(attributes["datetime"])
        elif css_class == "apply":
            self._current["url"] = attributes.get("href")
        elif tag == "li":
            self._in_skill = True

    def handle_endtag(self, tag: str) -> None:
        if self._current is None:
            return
        if self._text_field is not None:
            self._text_depth -= 1
            if self._text_depth == 0:
                field = self._text_field
                self._current[field] = " ".join(self._current[field].split())
                self._text_field = None
        elif tag == "li":
            self._in_skill = False
        elif tag == "article":
            self.postings.append(self._current)
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._current is None:
            return
        if self._text_field is not None:
            self._current[self._text_field] += data + " "
        elif self._in_skill and data.strip():
            self._current["skills"].append(data.strip().lower())


def parse_postings(html: str) -> list[dict[str, Any]]:
    """Every posting on the page, in page order, as keyword arguments for `Job`."""
    parser = PostingsParser()
    parser.feed(html)
    parser.close()
    return parser.postings


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
