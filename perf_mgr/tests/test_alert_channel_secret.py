"""Notification channel secrets are stored sealed with the tenant's key (through
`tenancy.hooks`, perf_mgr does not import security), bound to the channel's row, opened
for signing and for the channel's admins, and moved to a new key version by a rewrap."""

import pytest
from django.db import connection

from kms.exceptions import CryptoError
from perf_mgr.models.alerting import AlertChannel, open_secret
from perf_mgr.tests.alerting_helpers import make_webhook
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db


def _raw(channel_id) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret_sealed FROM perf_mgr_alertchannel WHERE id = %s", [channel_id]
        )
        return bytes(cursor.fetchone()[0])


def test_channel_secret_is_stored_sealed_not_in_clear(tenant_alpha):
    with tenant_context(tenant_alpha):
        channel = make_webhook("https://hooks.example.com/a")
        secret = AlertChannel.objects.get(pk=channel.pk).secret
        stored = _raw(channel.pk)
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert secret.encode() not in stored and len(stored) > 64
    columns = [
        c.name
        for c in connection.introspection.get_table_description(
            connection.cursor(), "perf_mgr_alertchannel"
        )
    ]
    assert "secret" not in columns  # no clear copy left


def test_channel_secret_opens_for_its_own_row_only(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        first = make_webhook("https://hooks.example.com/a", name="first")
        second = make_webhook("https://hooks.example.com/b", name="second")
        assert first.secret != second.secret
        with pytest.raises(CryptoError):  # the envelope is bound to its row
            open_secret(tenant_alpha.pk, second.pk, first.secret_sealed)
    with tenant_context(tenant_beta), pytest.raises(CryptoError):
        open_secret(tenant_beta.pk, first.pk, first.secret_sealed)  # and to its tenant


def test_api_shows_the_opened_secret_to_admins(alpha_admin, tenant_alpha):
    client = api_as(alpha_admin, tenant_alpha)
    body = {"name": "hook", "kind": "webhook", "target": "https://hooks.example.com/a"}
    created = client.post("/api/v1/alerts/channels/", body, format="json").data
    with tenant_context(tenant_alpha):
        assert AlertChannel.objects.get(pk=created["id"]).secret == created["secret"]
    listed = client.get("/api/v1/alerts/channels/").data["results"]
    assert [c["secret"] for c in listed] == [created["secret"]]


def test_rewrap_moves_channel_secrets_to_the_new_key_version(tenant_alpha):
    from security_mgr import actions as security_actions
    from security_mgr import crypto
    from security_mgr.rewrap import do_start_rewrap, run_rewrap

    with tenant_context(tenant_alpha):
        channel = make_webhook("https://hooks.example.com/a")
        secret = channel.secret
        before = crypto.parse_envelope(_raw(channel.pk)).version
        security_actions.rotate_key()
        job = do_start_rewrap(send=False)
        run_rewrap(job.pk)
        assert crypto.parse_envelope(_raw(channel.pk)).version == before + 1
        assert AlertChannel.objects.get(pk=channel.pk).secret == secret
