from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_master_key(app_configs=None, **kwargs):
    """Production must bring its own master key (or KMS provider); the development
    fallback derives one from the secret key and is never acceptable there."""
    if not getattr(settings, "PRODUCTION", False):
        return []
    if settings.SECURITY_MASTER_KEY_PROVIDER:
        return []
    if not (settings.SECURITY_MASTER_KEY or settings.SECURITY_MASTER_KEY_FILE):
        return [
            checks.Error(
                "SECURITY_MASTER_KEY (or SECURITY_MASTER_KEY_FILE) is not set",
                hint='32 random bytes in base64: python -c "import os,base64;'
                'print(base64.b64encode(os.urandom(32)).decode())"',
                id="security_mgr.E002",
            )
        ]
    from kms.exceptions import MasterKeyError
    from kms.provider import provider_from_settings

    try:
        provider_from_settings()
    except MasterKeyError as exc:
        return [checks.Error(str(exc), id="security_mgr.E003")]
    return []
