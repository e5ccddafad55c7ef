from django.apps import AppConfig


def _end_sessions_of_deleted_user(sender, instance, **kwargs):
    # Session.user has no database constraint (a user is platform data, sessions are
    # tenant data): a deleted user's sessions must go with it, in every tenant.
    from sessions_mgr.actions import do_delete_sessions_of_user

    do_delete_sessions_of_user(instance.pk)


class SessionsConfig(AppConfig):
    name = "sessions_mgr"
    verbose_name = "Sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        from sessions_mgr import schema  # noqa: F401  (registers the OpenAPI auth scheme)

        pre_delete.connect(
            _end_sessions_of_deleted_user,
            sender=get_user_model(),
            dispatch_uid="sessions_mgr.user_deleted",
        )
