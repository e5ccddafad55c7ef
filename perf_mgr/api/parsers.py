"""The metrics batch's JSON parser: like the API's strict parser, except that NaN,
Infinity and out-of-range numbers (1e400) parse to NaN or infinity instead of refusing
the whole body, so that the sample holding one is reported by its index with the
reason (`not_finite`) and the good samples of the batch are kept."""

from __future__ import annotations

import codecs
import json

from django.conf import settings

from tenancy.api.error_types import BadBody
from tenancy.api.parsers import StrictJSONParser, check_json_value, read_limited, too_deep


class MetricsJSONParser(StrictJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = read_limited(stream)
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise BadBody("invalid_json", f"The body is not valid {encoding}: {exc.reason}.", None)
        try:
            value = json.loads(text, parse_float=float, parse_constant=float)
        except RecursionError:
            raise too_deep() from None
        except ValueError as exc:
            raise BadBody("invalid_json", f"The body is not valid JSON: {exc}.", None) from None
        check_json_value(value)
        return value
