"""OpenAPI description of the session token authentication (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sessions_mgr.authentication.SessionTokenAuthentication"
    name = "sessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A session token from POST /api/v1/sessions/ (it names its tenant).",
        }


class StepUpTokenScheme(SessionTokenScheme):
    """The step-up endpoint's authenticator takes the same Bearer session token (also
    when the session awaits its step-up)."""

    target_class = "sessions_mgr.authentication.StepUpTokenAuthentication"
    name = "sessionTokenAwaitingStepUp"
