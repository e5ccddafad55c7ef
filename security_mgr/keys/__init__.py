from security_mgr.keys.provider import (
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
