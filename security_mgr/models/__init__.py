from security_mgr.models.keyring import DataKey, KeyRing, KeyState, WrapAlgorithm
from security_mgr.models.mfa import BackupCode, TOTPDevice
from security_mgr.models.passkey import PasskeyCredential

__all__ = [
    "BackupCode",
    "TOTPDevice",
    "DataKey",
    "KeyRing",
    "KeyState",
    "PasskeyCredential",
    "WrapAlgorithm",
]
