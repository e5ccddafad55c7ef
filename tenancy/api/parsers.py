"""Request body parsers that refuse, as a 4xx, what the database or Python would turn into
a 500 later: bodies beyond `DATA_UPLOAD_MAX_MEMORY_SIZE` (413), unparseable JSON, JSON
nested deeper than `API_JSON_MAX_DEPTH`, numbers beyond a double, and NUL characters or
lone surrogates in any key or string (PostgreSQL stores neither; 400 naming the JSON
path). The checks run once, on the parsed value, so no view needs to repeat them.
"""

from __future__ import annotations

import codecs
import json
import math
import re

from django.conf import settings
from rest_framework import parsers
from rest_framework.settings import api_settings

from tenancy.api.error_types import BadBody, BodyTooLarge

DEFAULT_MAX_DEPTH = 64
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def max_body_bytes() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def max_depth() -> int:
    return getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)


def json_path(parts) -> str:
    """`$.value[1].deep`; keys that are not identifiers as `$["a key"]` (ASCII-escaped,
    so a path never carries the characters it reports)."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)


def text_problem(text: str) -> str | None:
    """ "nul_character", "lone_surrogate" or None. A string that encodes as UTF-8 holds
    no lone surrogate; ASCII strings skip that check."""
    if "\x00" in text:
        return "nul_character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "lone_surrogate"
    return None


_MESSAGES = {
    "nul_character": "A NUL character (U+0000) is not allowed",
    "lone_surrogate": "A lone UTF-16 surrogate (U+D800-U+DFFF) is not allowed",
}


def _bad_text(problem: str, parts, in_key: bool) -> BadBody:
    path = json_path(parts)
    what = "a key" if in_key else "a string"
    return BadBody(problem, f"{_MESSAGES[problem]} in {what} at {path}.", path)


def check_json_value(value) -> None:
    """Walks the parsed body iteratively (no recursion, whatever its depth): depth, keys
    and strings."""
    limit = max_depth()
    stack = [(value, (), 1)]
    while stack:
        node, parts, depth = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                raise _bad_text(problem, parts, False)
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > limit:
            raise too_deep()
        if isinstance(node, dict):
            for key, child in node.items():
                problem = text_problem(key)
                if problem:
                    raise _bad_text(problem, parts, True)
                stack.append((child, (*parts, key), depth + 1))
        else:
            for index, child in enumerate(node):
                stack.append((child, (*parts, index), depth + 1))


def too_deep() -> BadBody:
    return BadBody(
        "json_too_deep", f"The JSON body is nested deeper than {max_depth()} levels.", None
    )


def read_limited(stream) -> bytes:
    limit = max_body_bytes()
    if stream is None:
        return b""
    if limit is None:
        return stream.read()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLarge(limit)
    return data


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:40]} is out of range")
    return number


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = read_limited(stream)
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise BadBody("invalid_json", f"The body is not valid {encoding}: {exc.reason}.", None)
        try:
            value = json.loads(
                text,
                parse_float=_finite_float,
                parse_constant=_refuse_constant if api_settings.STRICT_JSON else None,
            )
        except RecursionError:
            raise too_deep() from None
        except ValueError as exc:  # JSONDecodeError, huge integers, out-of-range floats
            raise BadBody("invalid_json", f"The body is not valid JSON: {exc}.", None) from None
        check_json_value(value)
        return value


def _check_querydict(data, files=None) -> None:
    for key in [*data.keys(), *(files or {}).keys()]:
        problem = text_problem(key)
        if problem:
            raise BadBody(problem, f"{_MESSAGES[problem]} in a field name.", None)
    for key, values in data.lists():
        for text in values:
            problem = text_problem(text) if isinstance(text, str) else None
            if problem:
                raise BadBody(problem, f"{_MESSAGES[problem]} in field {key!r}.", key)


class CheckedFormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        import io

        data = super().parse(io.BytesIO(read_limited(stream)), media_type, parser_context)
        _check_querydict(data)
        return data


class CheckedMultiPartParser(parsers.MultiPartParser):
    """Django's multipart parser enforces DATA_UPLOAD_MAX_MEMORY_SIZE for fields itself
    (RequestDataTooBig, answered 413 by the exception handler)."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _check_querydict(result.data, result.files)
        return result
