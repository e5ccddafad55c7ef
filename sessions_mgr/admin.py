"""Sessions in the console: per tenant (superusers: every tenant, under the audited
platform access), filters, bulk revoke, a detail page with the analytics, and "sign out
everywhere" on users (here and in the user admin)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from sessions_mgr.actions import do_revoke_session, do_revoke_user_sessions
from sessions_mgr.fastpath import publish
from sessions_mgr.messages import SessionMessage
from sessions_mgr.models import Session
from sessions_mgr.selectors import events_of_session
from tenancy.admin_base import TenantScopedAdmin
from tenancy.context import platform_access, tenant_context


def sessions_revoked(count: int) -> str:
    return ngettext("%(count)d session revoked.", "%(count)d sessions revoked.", count) % {
        "count": count
    }


class ActiveFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("revoked", _("Revoked")), ("expired", _("Expired"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True, absolute_expires_at__gt=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, absolute_expires_at__lte=now)
        return queryset


class RiskFilter(admin.SimpleListFilter):
    title = gettext_lazy("risk")
    parameter_name = "risk"

    def lookups(self, request, model_admin):
        return [("high", "≥ 0.7"), ("medium", "0.4 – 0.7"), ("low", "< 0.4")]

    def queryset(self, request, queryset):
        bands = {"high": (0.7, 2), "medium": (0.4, 0.7), "low": (-1, 0.4)}
        if self.value() in bands:
            low, high = bands[self.value()]
            return queryset.filter(risk_score__gte=low, risk_score__lt=high)
        return queryset


class SessionUserFilter(admin.RelatedOnlyFieldListFilter):
    """The users of this tenant's sessions, their ids read first: a dedicated tenant's
    sessions live in its own database, which holds no users (issue 17), so the stock
    filter's sub-query (run on the users' database) would find none of them."""

    def field_choices(self, field, request, model_admin):
        ids = list(model_admin.get_queryset(request).distinct().values_list("user_id", flat=True))
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": ids}, ordering=ordering
        )


@admin.register(Session)
class SessionAdmin(TenantScopedAdmin):
    list_display = [
        "id", "user", "session_type", "security_level", "created_at", "last_seen_at",
        "absolute_expires_at", "revoked_at", "risk_score",
    ]  # fmt: skip
    # RelatedOnly: the user filter lists users of this tenant's sessions, not every user.
    list_filter = [
        ActiveFilter,
        "security_level",
        "session_type",
        RiskFilter,
        ("user", SessionUserFilter),
    ]
    # Users are never joined: a dedicated tenant's database holds none (issue 17), an
    # INNER JOIN there would list no session. They are read from the default database
    # (get_queryset's prefetch), and a search by user name finds their ids there.
    list_select_related = ["tenant"]
    search_fields = ["id", "ip"]
    actions = ["revoke_selected", "sign_out_users_everywhere"]
    exclude = ["features"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user")

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if search_term:
            users = get_user_model().objects.using("default")
            ids = list(users.filter(username__icontains=search_term).values_list("pk", flat=True))
            found = found | queryset.filter(user_id__in=ids)
        return found, duplicates

    def get_readonly_fields(self, request, obj=None):
        # Sessions change through actions only (revocation must be published).
        fields = [f.name for f in Session._meta.fields if f.name not in ("features",)]
        return [*fields, "analytics"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=gettext_lazy("Analytics"))
    def analytics(self, obj):
        from sessions_mgr.analytics import analyse

        # The session's own tenant: the operator's admin has none in context, and the
        # tenant's model (AI registry) and history are read in it.
        with tenant_context(obj.tenant_id):
            result = analyse(obj)
            events = list(events_of_session(obj.pk)[:20])
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td></tr>", sorted(result["features"].items())
        )
        drivers = ", ".join(f"{d['feature']} (z={d['robust_z']})" for d in result["drivers"])
        history = format_html_join(
            "", "<li>{} {} {}</li>", ((e.created_at, e.type, e.action) for e in events)
        )
        return format_html(
            "<p>{} <b>{}</b> ({})</p><p>{} {}</p><table>{}</table><p>{}</p><ul>{}</ul>",
            _("Anomaly score"),
            result["anomaly_score"],
            result["model_version"],
            _("Drivers:"),
            drivers,
            rows,
            _("Security events:"),
            history,
        )

    @admin.action(description=gettext_lazy("Revoke selected sessions"))
    def revoke_selected(self, request, queryset):
        count = sum(
            do_revoke_session(pk, "revoked_by_admin")
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, sessions_revoked(count), messages.SUCCESS)

    @admin.action(description=gettext_lazy("Sign the selected sessions' users out everywhere"))
    def sign_out_users_everywhere(self, request, queryset):
        users = set(queryset.values_list("user_id", flat=True))
        count = sum(do_revoke_user_sessions(uid) for uid in users)
        of_users = ngettext(
            "%(count)d user signed out everywhere.",
            "%(count)d users signed out everywhere.",
            len(users),
        ) % {"count": len(users)}
        self.message_user(request, f"{sessions_revoked(count)} {of_users}")

    def delete_model(self, request, obj):
        publish(SessionMessage.revoked(obj.pk, obj.absolute_expires_at.timestamp()))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for pk, expires in queryset.values_list("pk", "absolute_expires_at"):
            publish(SessionMessage.revoked(pk, expires.timestamp()))
        super().delete_queryset(request, queryset)


@admin.action(description=gettext_lazy("Sign out everywhere (every session in every tenant)"))
def sign_out_everywhere(modeladmin, request, queryset):
    total = 0
    with platform_access("admin: sign out everywhere", actor=request.user.get_username()):
        for user_id in queryset.values_list("pk", flat=True):
            total += do_revoke_user_sessions(user_id, reason="sign_out_everywhere")
    modeladmin.message_user(request, sessions_revoked(total), messages.SUCCESS)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class SessionAwareUserAdmin(UserAdmin, ModelAdmin):
    """Django's user admin in the console's theme (unfold's forms), plus "sign out
    everywhere"."""

    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    # Plain multiple selects: Django's two-pane filter widget puts an aria-label on a bare
    # <span> (a prohibited ARIA attribute, flagged by the console's accessibility audit).
    filter_horizontal = ()
    actions = [*(UserAdmin.actions or []), sign_out_everywhere]
