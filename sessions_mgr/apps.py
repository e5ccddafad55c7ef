from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _end_sessions_of_deleted_user(sender, instance, **kwargs):
    # Session.user has no database constraint (a user is platform data, sessions are
    # tenant data): a deleted user's sessions must go with it, in every tenant.
    from sessions_mgr.actions import do_delete_sessions_of_user

    do_delete_sessions_of_user(instance.pk)


def _session_setting_changed(sender, instance, **kwargs):
    # Policies are cached per process (and inside cached sessions): however the setting
    # was changed (API, admin, shell), tell every process.
    from sessions_mgr.fastpath import publish
    from sessions_mgr.messages import SessionMessage

    if instance.key.startswith("session.policy."):
        publish(SessionMessage.policy_changed(instance.tenant_id))


def _key_versions_changed(sender, instance, **kwargs):
    # Key versions are cached per process: once the change is committed (a process that
    # reloaded before would cache the old versions), tell every process.
    from sessions_mgr.fastpath import publish
    from sessions_mgr.messages import SessionMessage

    tenant_id = instance.tenant_id
    from tenancy import db as tenant_db

    tenant_db.on_commit(tenant_id, lambda: publish(SessionMessage.keys_changed(tenant_id)))


class SessionsConfig(AppConfig):
    name = "sessions_mgr"
    verbose_name = _("Sessions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save, pre_delete

        from sessions_mgr import actions, console_nav, schema  # noqa: F401  (schema: OpenAPI auth)

        console_nav.register()
        from tenancy import hooks

        # What other features may ask of sessions (tenancy/hooks.py).
        hooks.revoke_user_sessions.register(actions.do_revoke_user_sessions)
        hooks.require_user_step_up.register(actions.do_require_user_step_up)
        from sessions_mgr import activity

        activity.register()  # the Business dashboard's users and sessions
        from ai_mgr import sources
        from sessions_mgr.analytics import SOURCE, training_rows

        # The behaviour model's data, for the AI registry's drift check and retraining.
        sources.register(SOURCE, training_rows)
        from sessions_mgr.models import SessionKeyVersion
        from tenancy.models import TenantSetting

        pre_delete.connect(
            _end_sessions_of_deleted_user,
            sender=get_user_model(),
            dispatch_uid="sessions_mgr.user_deleted",
        )
        for signal in (post_save, post_delete):
            signal.connect(
                _session_setting_changed,
                sender=TenantSetting,
                dispatch_uid=f"sessions_mgr.setting_changed.{signal}",
            )
            signal.connect(
                _key_versions_changed,
                sender=SessionKeyVersion,
                dispatch_uid=f"sessions_mgr.key_versions_changed.{signal}",
            )
