from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def check_audit_sequencing(app_configs=None, **kwargs):
    from audit_mgr.sequencer import MODES

    mode = getattr(settings, "SECURITY_AUDIT_SEQUENCING", "deferred")
    if mode in MODES:
        return []
    return [
        checks.Error(
            f"SECURITY_AUDIT_SEQUENCING is {mode!r}",
            hint=f"one of: {', '.join(MODES)}",
            id="audit_mgr.E001",
        )
    ]
