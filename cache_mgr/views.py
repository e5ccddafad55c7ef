"""`tenant_cache_page`: Django's `cache_page`, made safe for a multi-tenant product.

The key is built from what decides the page's content: the tenant in context, the user
(an anonymous visitor and each signed-in user get their own entry, so a signed-in page
is never served to anyone else), the method, the full path with its query string, the
host and the language. Only complete, cacheable answers are stored: a 200 to GET or
HEAD that sets no cookie, is not `private`/`no-store`, and was rendered without a CSRF
token (a page carrying one would hand one user's token to the next). Entries live in the
tenant's `pages` namespace, so `do_invalidate_namespace("pages")` drops them all.
"""

from __future__ import annotations

import functools
import hashlib

from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

from cache_mgr import api, config
from tenancy.context import get_current_tenant_id

NAMESPACE = "pages"


def _page_key(request) -> str:
    user = getattr(request, "user", None)
    who = f"u{user.pk}" if user is not None and user.is_authenticated else "anon"
    parts = [
        who,
        request.method,
        request.get_host(),
        request.get_full_path(),
        getattr(request, "LANGUAGE_CODE", "") or "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _cacheable(request, response) -> bool:
    control = response.get("Cache-Control", "").lower()
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "private" not in control
        and "no-store" not in control
        # get_token() sets it: the page carries this visitor's CSRF token.
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def tenant_cache_page(timeout: float):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in ("GET", "HEAD") or get_current_tenant_id() is None:
                return view(request, *args, **kwargs)
            key = _page_key(request)
            cached = api.get(key, namespace=NAMESPACE)
            if cached is not None:
                status, headers, content = cached
                response = HttpResponse(content, status=status)
                for name, value in headers:
                    response[name] = value
                response["X-Cache"] = "hit"
                return response
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
            patch_vary_headers(response, ("Cookie", "Accept-Language"))
            if _cacheable(request, response):
                headers = [(k, v) for k, v in response.items() if k.lower() != "set-cookie"]
                # The optimiser's applied TTL, when there is one, replaces the page's.
                ttl = config.tuned_ttl(get_current_tenant_id()) or timeout
                api.set(
                    key, (response.status_code, headers, response.content), ttl, namespace=NAMESPACE
                )
            response["X-Cache"] = "miss"
            return response

        return wrapped

    return decorator
