"""OpenAPI description of the throttled Basic authentication (drf-spectacular): on the
wire it is plain HTTP Basic; it only answers 429 while a source is backing off."""

from drf_spectacular.authentication import BasicScheme


class ThrottledBasicScheme(BasicScheme):
    target_class = "security_mgr.login_guard.ThrottledBasicAuthentication"
