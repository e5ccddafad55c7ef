"""Encrypted model fields for any tenant-scoped model.

The column holds the envelope `dim:v<version>:...`; the attribute holds the plaintext.
Values are decrypted lazily, on first access of the attribute, inside the tenant context
(so reading rows never costs a decryption nobody asked for), and a value that was
loaded and not changed is written back as the same envelope, not re-encrypted.

The associated data binds the tenant, the model, the field and the row, so a ciphertext
copied into another row, column or tenant does not decrypt. The row is identified by
`row_field` (default the primary key), which must be known *before* the insert: use a
UUID primary key (or name another field set at construction).

`subject_field` puts the values under a per-subject key ring (e.g. `subject_field=
"user_id"` -> ring "user_id=42"), which can be shredded on its own.

Only `isnull` lookups are possible: equal plaintexts have different ciphertexts.
"""

from __future__ import annotations

import json

from django.core import checks
from django.db import models

from security_mgr import crypto, keyring


class Sealed:
    """A ciphertext read from the database and not yet opened."""

    __slots__ = ("envelope",)

    def __init__(self, envelope: str):
        self.envelope = envelope

    def __repr__(self):
        return f"<Sealed v{self.envelope.split(':', 2)[1][1:] if ':' in self.envelope else '?'}>"


class _Envelope(str):
    """An envelope produced by pre_save(): the only str get_prep_value() lets through."""

    __slots__ = ()


class _Descriptor:
    def __init__(self, field):
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, Sealed):
            plain = self.field.open(instance, value.envelope)
            instance.__dict__[self.field.attname] = plain
            instance.__dict__.setdefault("_dim_sealed", {})[self.field.attname] = (
                value.envelope,
                plain,
            )
            return plain
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    descriptor_class = _Descriptor

    def __init__(self, *args, row_field: str = "pk", subject_field: str | None = None, **kwargs):
        self.row_field = row_field
        self.subject_field = subject_field
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.row_field != "pk":
            kwargs["row_field"] = self.row_field
        if self.subject_field:
            kwargs["subject_field"] = self.subject_field
        return name, path, args, kwargs

    def check(self, **kwargs):
        from tenancy.models import is_tenant_scoped

        errors = super().check(**kwargs)
        if not is_tenant_scoped(self.model):
            errors.append(
                checks.Error(
                    f"{type(self).__name__} needs a TenantScopedModel (keys are per tenant)",
                    obj=self,
                    id="security_mgr.E001",
                )
            )
        return errors

    # --- (de)serialisation of the plaintext, overridden by the JSON field ---
    def encode_plain(self, value) -> bytes:
        return str(value).encode()

    def decode_plain(self, data: bytes):
        return data.decode()

    # --- binding ---
    def subject(self, instance) -> str:
        if not self.subject_field:
            return ""
        return f"{self.subject_field}={getattr(instance, self.subject_field)}"

    def aad(self, instance) -> bytes:
        row = getattr(instance, self.row_field)
        if row is None:
            raise ValueError(
                f"{self.model._meta.label}.{self.name}: the row id ({self.row_field}) must be "
                "known before the value is encrypted; use a UUID primary key"
            )
        return crypto.associated_data(
            instance.tenant_id, self.model._meta.label_lower, self.name, row, self.subject(instance)
        )

    def open(self, instance, envelope: str):
        data = keyring.decrypt(envelope, self.aad(instance), subject=self.subject(instance))
        return self.decode_plain(data)

    def seal(self, instance, value) -> str:
        return keyring.encrypt(
            self.encode_plain(value), self.aad(instance), subject=self.subject(instance)
        )

    # --- Django hooks ---
    def from_db_value(self, value, expression, connection):
        return None if value is None else Sealed(value)

    def to_python(self, value):
        return value

    def pre_save(self, instance, add):
        value = instance.__dict__.get(self.attname)
        if value is None:
            return None
        if isinstance(value, Sealed):
            return _Envelope(value.envelope)
        previous = instance.__dict__.get("_dim_sealed", {}).get(self.attname)
        if previous is not None and previous[1] == value:
            return _Envelope(previous[0])
        envelope = self.seal(instance, value)
        instance.__dict__.setdefault("_dim_sealed", {})[self.attname] = (envelope, value)
        return _Envelope(envelope)

    def get_prep_value(self, value):
        # Writes that bypass pre_save() (bulk_update(), update(field=...)) would store
        # whatever they were given: only ciphertext may reach the column.
        if value is None or isinstance(value, _Envelope):
            return value
        if isinstance(value, Sealed):
            return value.envelope
        raise ValueError(
            f"{self.model._meta.label}.{self.name} is encrypted: write it with save() or "
            "bulk_create() (bulk_update() and update() would store it unencrypted)"
        )

    def get_lookup(self, lookup_name):
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def value_to_string(self, obj):
        # Serialisation (dumpdata) exports the envelope, never the plaintext.
        value = obj.__dict__.get(self.attname)
        return value.envelope if isinstance(value, Sealed) else self.pre_save(obj, False)


class EncryptedJSONField(EncryptedTextField):
    def encode_plain(self, value) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

    def decode_plain(self, data: bytes):
        return json.loads(data)
