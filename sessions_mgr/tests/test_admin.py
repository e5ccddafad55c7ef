import pytest
from django.urls import reverse

from sessions_mgr.models import Session
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:sessions_mgr_session_changelist"


def _refused(token) -> str:
    with pytest.raises(TokenError) as exc:
        validate(token)
    return exc.value.reason


def test_admin_sessions_listed_per_tenant_with_filters(
    client, alpha_owner, alpha_viewer, beta_owner, tenant_beta, make_session, view
):
    make_session(user=alpha_owner, security_level="high")
    make_session(user=alpha_viewer)
    make_session(tenant=tenant_beta, user=beta_owner)
    client.force_login(alpha_owner)
    listing = client.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert len(listing.context["cl"].result_list) == 2
    for params, expected in [
        ({"security_level__exact": "high"}, 1),
        ({"state": "active"}, 2),
        ({"state": "revoked"}, 0),
        ({"risk": "high"}, 0),
        ({"user__id__exact": alpha_viewer.pk}, 1),
    ]:
        response = client.get(reverse(CHANGELIST), params)
        assert len(response.context["cl"].result_list) == expected, params
    # the user filter offers this tenant's users only
    assert "bob" not in listing.content.decode()


def test_admin_bulk_revoke(client, alpha_owner, make_session, view):
    (s1, t1), (s2, t2), (_s3, t3) = make_session(), make_session(), make_session()
    client.force_login(alpha_owner)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "revoke_selected", "_selected_action": [s1.pk, s2.pk]},
    )
    assert response.status_code == 302
    assert _refused(t1) == _refused(t2) == "revoked"
    validate(t3)


def test_admin_detail_shows_analytics(client, alpha_owner, make_session):
    session, _ = make_session()
    client.force_login(alpha_owner)
    response = client.get(reverse("admin:sessions_mgr_session_change", args=[session.pk]))
    assert response.status_code == 200
    assert "Anomaly score" in response.content.decode()


def test_admin_detail_shows_analytics_to_the_platform_operator(client, superuser, make_session):
    """The operator's admin has no tenant in context: the analytics (the tenant's model
    from the AI registry, its history) are read in the session's own tenant."""
    session, _ = make_session()
    client.force_login(superuser)
    response = client.get(reverse("admin:sessions_mgr_session_change", args=[session.pk]))
    assert response.status_code == 200
    assert "Anomaly score" in response.content.decode()


def test_admin_sign_out_everywhere_on_user(
    client, superuser, member_of_both, tenant_alpha, tenant_beta, make_session, view
):
    _s, a = make_session(tenant=tenant_alpha, user=member_of_both)
    _s, b = make_session(tenant=tenant_beta, user=member_of_both)
    client.force_login(superuser)
    response = client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [member_of_both.pk]},
    )
    assert response.status_code == 302
    assert _refused(a) == _refused(b) == "revoked"
    with tenant_context(tenant_beta):
        assert Session.objects.get().revoke_reason == "sign_out_everywhere"


def test_admin_viewer_cannot_revoke(client, alpha_viewer, tenant_alpha, make_session, view):
    session, token = make_session(user=alpha_viewer)
    client.force_login(alpha_viewer)
    response = client.post(
        reverse(CHANGELIST), {"action": "revoke_selected", "_selected_action": [session.pk]}
    )
    # A viewer is not admitted to the admin: sent to its login, nothing done.
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert validate(token).session_id == session.pk  # still accepted
    with tenant_context(tenant_alpha):
        assert Session.objects.get(pk=session.pk).revoked_at is None
