"""Key management (infrastructure): the master key-encryption key behind a small
interface (`provider`), and the keys derived from it that sign the audit log's tree heads
and receipts (`signing`).

A plain package, not a Django app: it has no models, migrations, templates or signals,
and reads its settings (`SECURITY_MASTER_KEY`, `SECURITY_MASTER_KEY_FILE`,
`SECURITY_MASTER_KEY_PROVIDER`) when first asked for the provider. The production check
that a master key is configured is registered by security_mgr (`security_mgr.checks`).

Layering: imports only Django, tenancy, the standard library and third-party packages;
security_mgr (key rings, MFA) and audit_mgr (head seals, signed tree heads) import it.
"""

from kms.provider import (
    EnvMasterKeyProvider,
    MasterKeyProvider,
    get_master_key_provider,
    reset_master_key_provider,
)

__all__ = [
    "EnvMasterKeyProvider",
    "MasterKeyProvider",
    "get_master_key_provider",
    "reset_master_key_provider",
]
