from django.urls import path
from rest_framework.routers import SimpleRouter

from security_mgr.api import mfa_views, views

router = SimpleRouter()
router.register("keys/rings", views.KeyRingViewSet, basename="security-keyring")
router.register("events", views.SecurityEventViewSet, basename="security-event")
router.register("keys/rewrap", views.RewrapJobViewSet, basename="security-rewrap")

urlpatterns = [
    path("keys/rotate/", views.RotateKeyView.as_view(), name="security-rotate"),
    path("keys/config/", views.KeyConfigView.as_view(), name="security-key-config"),
    path("keys/shred/", views.ShredKeysView.as_view(), name="security-shred"),
    path("keys/public/", views.PublicKeysView.as_view(), name="security-public-keys"),
    path("transit/encrypt/", views.TransitEncryptView.as_view(), name="security-encrypt"),
    path("transit/decrypt/", views.TransitDecryptView.as_view(), name="security-decrypt"),
    path("mfa/totp/", mfa_views.EnrollTOTPView.as_view(), name="security-mfa-enroll"),
    path(
        "mfa/passkeys/register/options/",
        mfa_views.PasskeyRegisterOptionsView.as_view(),
        name="security-passkey-register-options",
    ),
    path(
        "mfa/passkeys/register/",
        mfa_views.PasskeyRegisterView.as_view(),
        name="security-passkey-register",
    ),
    path(
        "mfa/passkeys/authenticate/options/",
        mfa_views.PasskeyAuthenticateOptionsView.as_view(),
        name="security-passkey-authenticate-options",
    ),
    path(
        "mfa/passkeys/authenticate/",
        mfa_views.PasskeyAuthenticateView.as_view(),
        name="security-passkey-authenticate",
    ),
    path("mfa/totp/confirm/", mfa_views.ConfirmTOTPView.as_view(), name="security-mfa-confirm"),
    path("mfa/totp/verify/", mfa_views.VerifyTOTPView.as_view(), name="security-mfa-verify"),
    path("mfa/backup-codes/", mfa_views.BackupCodesView.as_view(), name="security-mfa-codes"),
    path(
        "mfa/backup-codes/use/",
        mfa_views.UseBackupCodeView.as_view(),
        name="security-mfa-use-code",
    ),
    *router.urls,
]
