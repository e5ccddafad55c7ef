"""Key rings, transit operations and encrypted fields, in a real tenant context."""

import json

import pytest
from django.db import connection, transaction
from django.test import override_settings

import audit_mgr as audit
from audit_mgr import actions as audit_actions
from audit_mgr.models import AuditEntry, SignedTreeHead
from security_mgr import actions, crypto, keyring
from security_mgr.exceptions import (
    DecryptionFailed,
    KeyShredded,
    KeyVersionBelowMinimum,
    KeyVersionTrimmed,
    KeyVersionUnknown,
    MalformedCiphertext,
)
from security_mgr.models import DataKey, KeyRing, KeyState, WrapAlgorithm
from tenancy.context import tenant_context
from tenancy.exceptions import TenantContextMissing
from tenancy.models import TenantSetting
from tests.security_app.models import SecretNote

pytestmark = pytest.mark.django_db

AAD = crypto.associated_data(0, "tests.thing", "field", "row-1")


def _aad(tenant, row="row-1"):
    return crypto.associated_data(tenant.pk, "tests.thing", "field", row)


def test_keyring_round_trip_and_the_key_is_stored_only_wrapped(tenant_alpha):
    with tenant_context(tenant_alpha):
        text = keyring.encrypt(b"hello", _aad(tenant_alpha))
        assert text.startswith("dim:v1:")
        assert keyring.decrypt(text, _aad(tenant_alpha)) == b"hello"
        key = DataKey.objects.get()
        assert key.algorithm == WrapAlgorithm.CLASSICAL
        assert len(bytes(key.wrapped_key)) == 12 + 32 + 16  # nonce, key, tag: wrapped
        secret = keyring.unwrap_data_key(tenant_alpha.pk, "", 1, key.wrapped_key, key.algorithm)
        assert secret not in bytes(key.wrapped_key)


def test_keyring_no_tenant_no_crypto(tenant_alpha):
    with pytest.raises(TenantContextMissing):
        keyring.encrypt(b"x", AAD)


@pytest.mark.parametrize("how", ["setting", "env"])
def test_keyring_quantum_level_wraps_with_hybrid_x25519_mlkem768(tenant_alpha, how):
    with tenant_context(tenant_alpha), override_settings(QUANTUM_CRYPTO_ENABLED=how == "env"):
        if how == "setting":
            TenantSetting.objects.create(key="security.level", value="quantum")
        actions.rotate_key(reason="quantum")  # the level applies to keys made after it
        text = keyring.encrypt(b"pq", _aad(tenant_alpha))
        key = DataKey.objects.get(version=2)
        assert key.algorithm == WrapAlgorithm.HYBRID
        assert len(bytes(key.wrapped_key)) == 1088 + 32 + 12 + 32 + 16
        keyring.forget()  # force the unwrap path
        assert keyring.decrypt(text, _aad(tenant_alpha)) == b"pq"


def test_keyring_tampered_ciphertext_and_wrong_associated_data_are_named(tenant_alpha):
    with tenant_context(tenant_alpha):
        text = keyring.encrypt(b"hello", _aad(tenant_alpha))
        body = text.split(":", 2)[2]
        flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
        with pytest.raises(DecryptionFailed, match="altered"):
            keyring.decrypt(f"dim:v1:{flipped}", _aad(tenant_alpha))
        with pytest.raises(DecryptionFailed, match="associated data"):
            keyring.decrypt(text, _aad(tenant_alpha, row="row-2"))
        with pytest.raises(MalformedCiphertext):
            keyring.decrypt(text[:-30], _aad(tenant_alpha))
        with pytest.raises(KeyVersionUnknown):
            keyring.decrypt(text.replace("dim:v1:", "dim:v7:"), _aad(tenant_alpha))


def test_keyring_rotation_min_decryption_version_and_trim(tenant_alpha):
    with tenant_context(tenant_alpha):
        v1 = keyring.encrypt(b"one", _aad(tenant_alpha))
        actions.rotate_key(reason="test")
        v2 = keyring.encrypt(b"two", _aad(tenant_alpha))
        assert keyring.envelope_version(v2) == 2
        assert keyring.decrypt(v1, _aad(tenant_alpha)) == b"one"  # old versions still open

        actions.set_min_decryption_version(2)
        with pytest.raises(KeyVersionBelowMinimum, match="minimum decryption version 2"):
            keyring.decrypt(v1, _aad(tenant_alpha))
        with pytest.raises(ValueError):
            actions.trim_key(3)  # never past the minimum decryption version

        actions.trim_key(2)
        assert DataKey.objects.get(version=1).state == KeyState.TRIMMED
        assert bytes(DataKey.objects.get(version=1).wrapped_key) == b""
        with pytest.raises(KeyVersionTrimmed, match="trimmed"):
            keyring.decrypt(v1, _aad(tenant_alpha))
        with pytest.raises(ValueError):
            actions.set_min_decryption_version(1)  # trimmed versions cannot come back
        assert keyring.decrypt(v2, _aad(tenant_alpha)) == b"two"
        audit.flush()  # the test transaction never commits: sequence now
        events = list(AuditEntry.objects.values_list("event", flat=True))
        assert events == [
            "key.rotated",
            "key.min_decryption_version",
            "key.trimmed",
        ]


def test_keyring_automatic_rotation_period(tenant_alpha):
    import datetime as dt

    from django.utils import timezone

    with tenant_context(tenant_alpha):
        keyring.encrypt(b"x", _aad(tenant_alpha))
        actions.set_rotation_period(30)
        assert actions.rotate_due_keys() == []
        assert actions.rotate_due_keys(now=timezone.now() + dt.timedelta(days=31)) == [""]
        assert KeyRing.objects.get().current_version == 2


def test_keyring_tenant_b_cannot_decrypt_tenant_a(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        text = keyring.encrypt(b"a's secret", _aad(tenant_alpha))
        a_key = DataKey.objects.get()
    with tenant_context(tenant_beta):
        keyring.encrypt(b"b's own", _aad(tenant_beta))  # B has a ring of its own
        # Even claiming A's binding, B's key does not open A's ciphertext.
        with pytest.raises(DecryptionFailed):
            keyring.decrypt(text, _aad(tenant_alpha))
        with pytest.raises(DecryptionFailed):
            keyring.decrypt(text, _aad(tenant_beta))
        # A's wrapped key copied into B's ring does not unwrap: it is bound to A.
        with pytest.raises(DecryptionFailed):
            keyring.unwrap_data_key(tenant_beta.pk, "", 1, a_key.wrapped_key, a_key.algorithm)


def test_encrypted_fields_round_trip_and_store_only_ciphertext(tenant_alpha):
    with tenant_context(tenant_alpha):
        note = SecretNote.objects.create(body="the plans", extra={"pin": 1234, "tags": ["x"]})
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT body, extra FROM security_app_secretnote WHERE tenant_id = %s",
                [tenant_alpha.pk],
            )
            body, extra = cursor.fetchone()
        body, extra = bytes(body), bytes(extra)  # a binary column (bytea / BLOB)
        assert body.startswith(b"DIM\x01\x00\x00\x00\x01") and b"plans" not in body
        assert extra.startswith(b"DIM\x01\x00\x00\x00\x01") and b"1234" not in extra
        assert len(body) == 20 + len("the plans") + 16  # header, nonce, ciphertext, tag
        loaded = SecretNote.objects.get(pk=note.pk)
        assert loaded.body == "the plans"
        assert loaded.extra == {"pin": 1234, "tags": ["x"]}
        assert loaded.private is None
        # Unchanged values are written back as they were, not re-encrypted.
        loaded.owner = "carol"
        loaded.save()
        assert (
            SecretNote.objects.filter(pk=note.pk).values_list("body", flat=True)[0].envelope == body
        )
        loaded.body = "new plans"
        loaded.save()
        assert SecretNote.objects.get(pk=note.pk).body == "new plans"
        assert SecretNote.objects.filter(private__isnull=True).count() == 1


def test_encrypted_fields_ciphertext_moved_to_another_row_or_field_does_not_decrypt(tenant_alpha):
    with tenant_context(tenant_alpha):
        one = SecretNote.objects.create(body="one", extra='"one"')
        two = SecretNote.objects.create(body="two")
        envelope = SecretNote.objects.filter(pk=one.pk).values_list("body", flat=True)[0]
        SecretNote.objects.filter(pk=two.pk).update(body=envelope)
        with pytest.raises(DecryptionFailed):
            SecretNote.objects.get(pk=two.pk).body
        SecretNote.objects.filter(pk=one.pk).update(extra=envelope)  # body -> extra
        with pytest.raises(DecryptionFailed):
            SecretNote.objects.get(pk=one.pk).extra


def test_encrypted_fields_refuse_equality_lookups(tenant_alpha):
    from django.core.exceptions import FieldError

    with tenant_context(tenant_alpha), pytest.raises(FieldError):
        list(SecretNote.objects.filter(body="x"))


def test_keyring_subject_key_shredding_leaves_other_data_readable(tenant_alpha):
    with tenant_context(tenant_alpha):
        carol = SecretNote.objects.create(owner="carol", body="shared", private="carol's")
        dave = SecretNote.objects.create(owner="dave", body="shared", private="dave's")
        result = actions.shred_keys(subject="owner=carol", reason="erasure request")
        assert result["receipt"]["scope"] == "subject:owner=carol"
        with pytest.raises(KeyShredded, match="shredded"):
            SecretNote.objects.get(pk=carol.pk).private
        assert SecretNote.objects.get(pk=carol.pk).body == "shared"  # tenant ring intact
        assert SecretNote.objects.get(pk=dave.pk).private == "dave's"
        with pytest.raises(KeyShredded):
            actions.rotate_key(subject="owner=carol")


# --- crypto-shredding ------------------------------------------------------------------


def test_shredding_a_tenant_makes_its_data_unreadable_and_the_log_still_verifies(
    tenant_alpha, tenant_beta
):
    with tenant_context(tenant_beta):
        b_note = SecretNote.objects.create(body="b keeps this")
    with tenant_context(tenant_alpha):
        note = SecretNote.objects.create(body="top secret", private="mine", owner="carol")
        actions.rotate_key(reason="before shredding")
        audit_actions.sign_tree_head()
        result = actions.shred_keys(actor="alice", reason="tenant offboarding")

        keyring.forget()  # a fresh process: nothing cached
        fresh = SecretNote.objects.get(pk=note.pk)
        with pytest.raises(KeyShredded):
            fresh.body
        with pytest.raises(KeyShredded):
            fresh.private
        with pytest.raises(KeyShredded), transaction.atomic():
            SecretNote.objects.create(body="new data")
        assert set(DataKey.objects.values_list("state", flat=True)) == {KeyState.SHREDDED}
        assert all(bytes(k) == b"" for k in DataKey.objects.values_list("wrapped_key", flat=True))

        # The receipt is in the log, signed, and the log verifies after the shredding.
        assert result["entry_seq"] == SignedTreeHead.objects.last().tree_size - 1
        entry = AuditEntry.objects.get(event="key.shredded")
        payload = json.loads(entry.data)["payload"]
        assert payload["receipt"] == result["receipt"]
        assert audit.verify_receipt(payload["receipt"], payload["signature"])
        forged = {**payload["receipt"], "scope": "subject:nobody"}
        assert not audit.verify_receipt(forged, payload["signature"])
        assert {d["version"] for d in payload["receipt"]["destroyed"]} >= {1, 2}
        report = audit.verify_log(audit.tenant_log())
        assert report.ok, report.problems
        assert report.heads_checked == 2
        assert SignedTreeHead.objects.last().tree_size == entry.seq + 1
    with tenant_context(tenant_beta):
        assert SecretNote.objects.get(pk=b_note.pk).body == "b keeps this"


# --- key-ring creation is an action, never a side effect of a read --------------------


def test_key_ring_created_with_the_tenant_in_its_transaction(db):
    from django.db import transaction

    from tenancy.actions import do_create_tenant
    from tenancy.models import Tenant
    from tests.personas import audit_entries

    with pytest.raises(RuntimeError), transaction.atomic():
        do_create_tenant(slug="gamma", name="Gamma")
        raise RuntimeError("the creation rolls back")
    assert not Tenant.objects.filter(slug="gamma").exists()
    gamma = do_create_tenant(slug="gamma", name="Gamma")
    with tenant_context(gamma):
        ring = KeyRing.objects.get(subject="")
        assert ring.current_version == 1
        assert list(DataKey.objects.values_list("version", flat=True)) == [1]
    created = audit_entries(None, "key.ring_created")  # the platform made it
    assert [json.loads(e.data)["payload"]["tenant"] for e in created] == [gamma.pk]
    assert audit_entries(gamma) == []  # the tenant's own log starts with its own acts


def test_key_ring_read_without_a_ring_fails_naming_the_fix_and_writes_nothing(tenant_alpha):
    with tenant_context(tenant_alpha):
        sealed = keyring.encrypt(b"x", _aad(tenant_alpha))
        KeyRing.objects.all().delete()  # a tenant left without a ring
        keyring.forget()
        pending = audit.tenant_log().pending().count()
        for read in (
            lambda: keyring.encrypt(b"x", _aad(tenant_alpha)),
            lambda: keyring.current_version(),
            lambda: keyring.decrypt(sealed, _aad(tenant_alpha)),
        ):
            with pytest.raises(KeyVersionUnknown, match=r"do_create_key_ring\(tenant\)"):
                read()
        assert not KeyRing.objects.exists() and not DataKey.objects.exists()
        assert audit.tenant_log().pending().count() == pending
        actions.do_create_key_ring(tenant_alpha)  # the fix the error names
        assert (
            keyring.decrypt(keyring.encrypt(b"x", _aad(tenant_alpha)), _aad(tenant_alpha)) == b"x"
        )


def test_key_ring_migration_gives_older_tenants_their_ring(tenant_alpha, tenant_beta):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "security_mgr.migrations.0017_key_rings_for_existing_tenants"
    )
    with tenant_context(tenant_alpha):
        KeyRing.objects.all().delete()  # created before rings came with tenants
    with tenant_context(tenant_beta):
        actions.rotate_key(reason="in use")
    migration.create_missing_rings(apps, None)
    with tenant_context(tenant_alpha):
        assert KeyRing.objects.get(subject="").current_version == 1
    with tenant_context(tenant_beta):
        assert KeyRing.objects.get(subject="").current_version == 2  # left as it was
