"""A user's own console preferences (today: the language).

Platform data, like the user it belongs to: not tenant-scoped, because a person keeps
one language across every tenant they act in, and it is read before any tenant is in
context (by `tenancy.language.UserLanguageMiddleware`). Only the user's own requests
read or write it (`tenancy.language`, `tenancy.actions.do_set_language`); on PostgreSQL
the runtime role may write any row, as it may `auth_user` (docs/isolation.md): SQL
injection could change someone's console language, which discloses nothing.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,  # looked up by user on every signed-in console request
        related_name="preference",
        verbose_name=_("user"),
    )
    # A code of settings.LANGUAGES, checked by the action (choices here would put the
    # settings into migrations); empty: no preference, the browser's language applies.
    language = models.CharField(_("language"), max_length=16, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self):
        return f"{self.user_id}: {self.language or '-'}"
