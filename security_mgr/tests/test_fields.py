"""Encrypted fields on binary columns: what the column holds, legacy text rows, the
text form for people and APIs, and the migration that re-encodes legacy rows."""

import pytest
from django.core import serializers
from django.db import connection

from security_mgr import crypto, keyring
from security_mgr.exceptions import DecryptionFailed
from security_mgr.fields import Sealed
from tenancy.context import platform_access, tenant_context
from tests.security_app.models import SecretNote

pytestmark = pytest.mark.django_db


def _column(note, name="body") -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {name} FROM security_app_secretnote WHERE tenant_id = %s AND id = %s",
            [note.tenant_id, note.pk.hex if connection.vendor == "sqlite" else note.pk],
        )
        value = cursor.fetchone()[0]
    return value if value is None or isinstance(value, str) else bytes(value)


def _store_raw(note, value, name="body"):
    """Write a column behind the ORM's back (a legacy row, a pasted envelope)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE security_app_secretnote SET {name} = %s WHERE tenant_id = %s AND id = %s",
            [value, note.tenant_id, note.pk.hex if connection.vendor == "sqlite" else note.pk],
        )


def test_fields_legacy_text_envelope_rows_still_read_and_are_rewritten_binary(tenant_alpha):
    with tenant_context(tenant_alpha):
        note = SecretNote.objects.create(body="old secret")
        text = crypto.to_text(_column(note))
        _store_raw(note, text.encode())  # what the text -> bytea migration leaves
        loaded = SecretNote.objects.get(pk=note.pk)
        assert loaded.body == "old secret"
        loaded.owner = "erin"
        loaded.save()  # unchanged value written back: binary now, same ciphertext
        assert _column(note) == crypto.to_binary(text)
        assert SecretNote.objects.get(pk=note.pk).body == "old secret"


def test_fields_memoryview_from_the_driver_is_understood(tenant_alpha):
    with tenant_context(tenant_alpha):
        note = SecretNote.objects.create(body="mv")
        field = SecretNote._meta.get_field("body")
        sealed = field.from_db_value(memoryview(_column(note)), None, connection)
        assert isinstance(sealed, Sealed) and type(sealed.envelope) is bytes
        assert field.open(note, sealed.envelope) == "mv"


def test_fields_text_form_for_people_and_apis(tenant_alpha):
    with tenant_context(tenant_alpha):
        one = SecretNote.objects.create(body="one", extra={"k": [1, 2]})
        stored = _column(one)
        # dumpdata exports the text envelope, never plaintext; loaddata takes it back.
        dumped = serializers.serialize("json", SecretNote.objects.filter(pk=one.pk))
        assert crypto.to_text(stored) in dumped and '"one"' not in dumped
        SecretNote.objects.filter(pk=one.pk).delete()
        # A restore keeps the rows' keys: platform work (explicit keys are refused in a
        # tenant's context, where they would probe other tenants' keys).
        with platform_access("test: loaddata restores a dumped row"):
            for obj in serializers.deserialize("json", dumped):
                obj.save()
        fresh = SecretNote.objects.get(pk=one.pk)
        assert (fresh.body, fresh.extra) == ("one", {"k": [1, 2]})
        assert _column(one) == stored  # the same ciphertext, not re-encrypted
        raw = SecretNote.objects.values_list("body", flat=True).get(pk=one.pk)
        assert repr(raw) == "<Sealed v1>"


def test_fields_transit_text_envelope_can_be_stored_with_sealed_from_text(tenant_alpha):
    with tenant_context(tenant_alpha):
        note = SecretNote.objects.create(body="placeholder")
        field = SecretNote._meta.get_field("body")
        text = keyring.encrypt(b"from the api", field.aad(note))  # the transit API's form
        assert text.startswith("dim:v1:")
        SecretNote.objects.filter(pk=note.pk).update(body=Sealed.from_text(text))
        assert _column(note)[:4] == b"DIM\x01"
        assert SecretNote.objects.get(pk=note.pk).body == "from the api"
        assert Sealed(_column(note)).text == text
        with pytest.raises(ValueError, match="encrypted"):
            SecretNote.objects.filter(pk=note.pk).update(body=text)  # a plain str: refused


def test_fields_full_clean_never_reads_plaintext_as_ciphertext(tenant_alpha):
    with tenant_context(tenant_alpha):
        looks_like = crypto.to_text(crypto.seal_binary(crypto.AESGCM(bytes(32)), 1, b"x", b""))
        note = SecretNote(body=looks_like, owner="frank")
        note.full_clean(exclude=["tenant"])
        note.save()
        assert SecretNote.objects.get(pk=note.pk).body == looks_like  # encrypted as text


def test_fields_migration_converts_legacy_rows_both_ways(tenant_alpha, tenant_beta):
    from django.apps import apps

    from security_mgr.migration_ops import convert_rows

    notes = {}
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            note = SecretNote.objects.create(body=f"{tenant.slug} body", extra=[tenant.slug])
            binary = {name: _column(note, name) for name in ("body", "extra")}
            for name, value in binary.items():
                _store_raw(note, crypto.to_text(value).encode(), name)  # legacy rows
            _store_raw(note, b"garbage", "private")  # malformed: left as it is
            notes[tenant.pk] = (note, binary)

    class Editor:  # RunPython only needs the connection
        pass

    Editor.connection = connection
    operation = convert_rows("security_app", "secretnote", "body", "extra", "private")
    operation.code(apps, Editor)  # forwards, tenant by tenant (RLS fences the owner too)
    for tenant in (tenant_alpha, tenant_beta):
        note, binary = notes[tenant.pk]
        with tenant_context(tenant):
            assert {n: _column(note, n) for n in ("body", "extra")} == binary
            assert _column(note, "private") == b"garbage"
            fresh = SecretNote.objects.get(pk=note.pk)
            assert (fresh.body, fresh.extra) == (f"{tenant.slug} body", [tenant.slug])
            with pytest.raises(Exception, match="wrong magic"):
                fresh.private
    operation.reverse_code(apps, Editor)  # backwards: text envelopes again
    with tenant_context(tenant_alpha):
        note, binary = notes[tenant_alpha.pk]
        assert _column(note).startswith(b"dim:v1:" if connection.vendor != "sqlite" else "dim")
        assert SecretNote.objects.get(pk=note.pk).body == f"{tenant_alpha.slug} body"


def test_fields_ciphertext_of_another_row_is_refused_in_binary_form_too(tenant_alpha):
    with tenant_context(tenant_alpha):
        one = SecretNote.objects.create(body="one")
        two = SecretNote.objects.create(body="two")
        SecretNote.objects.filter(pk=two.pk).update(body=Sealed(_column(one)))
        with pytest.raises(DecryptionFailed):
            SecretNote.objects.get(pk=two.pk).body
