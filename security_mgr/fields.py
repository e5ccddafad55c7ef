"""Encrypted model fields for any tenant-scoped model.

The column (bytea on PostgreSQL, BLOB on SQLite) holds the binary envelope (see
`crypto`: magic, format, key version, nonce, ciphertext and tag); the attribute holds
the plaintext. Values are decrypted lazily, on first access of the attribute, inside
the tenant context (so reading rows never costs a decryption nobody asked for), and a
value that was loaded and not changed is written back as the same envelope, not
re-encrypted. Rows written before the binary format (a text envelope `dim:v<N>:...`)
are still read; migration 0006 converts them.

People and APIs see the text form: `value_to_string` (dumpdata) exports
`dim:v<N>:...`, `to_python` (loaddata) takes it back, and `Sealed.from_text()` turns a
text envelope from the transit API into a value that `update()` may store.

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
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.functional import cached_property

from security_mgr import crypto, keyring
from security_mgr.exceptions import MalformedCiphertext

_associated_data = crypto.associated_data
_decrypt = keyring.decrypt
_encrypt = keyring.encrypt_binary


class Sealed:
    """A ciphertext (binary envelope) read from the database and not yet opened."""

    __slots__ = ("envelope",)

    def __init__(self, envelope: bytes):
        self.envelope = envelope

    @classmethod
    def from_text(cls, text: str) -> Sealed:
        """A text envelope (e.g. from the transit API) as a storable value."""
        return cls(crypto.to_binary(text))

    @property
    def text(self) -> str:
        return crypto.to_text(self.envelope)

    def __repr__(self):
        try:
            return f"<Sealed v{crypto.split_envelope(self.envelope)[0]}>"
        except MalformedCiphertext:
            return "<Sealed ?>"


def _as_bytes(value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):  # a legacy text envelope stored as TEXT (SQLite)
        return value.encode()
    return bytes(value)  # memoryview (psycopg 2 style drivers), bytearray


class _Imported(Sealed):
    """A text envelope from deserialisation (loaddata). The attribute hands it out as
    is, unopened: a raw save reads attributes, and must store the ciphertext it was
    given, not the plaintext (which get_prep_value() would refuse)."""

    __slots__ = ()


def _stored(envelope: bytes) -> bytes:
    """What a write stores for an envelope read back: legacy text ones become binary; a
    malformed value is written back untouched (saving other fields must not fail)."""
    if envelope[:5] == b"dim:v":
        try:
            return crypto.to_binary(envelope)
        except MalformedCiphertext:
            pass
    return envelope


class _Envelope(bytes):
    """An envelope produced by pre_save(): the only bytes get_prep_value() lets through."""

    __slots__ = ()


class _Descriptor:
    def __init__(self, field):
        self.field = field

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if type(value) is Sealed:
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

    def get_internal_type(self):
        # A binary column: bytea / BLOB. The form field stays a text field (plaintext).
        return "BinaryField"

    _text = True  # plaintext is str, encoded as UTF-8 (the JSON field says False)

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        self._label = cls._meta.label_lower
        self._memo_key = f"_dim_aad_{name}"

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
        return (value if type(value) is str else str(value)).encode()

    def decode_plain(self, data: bytes):
        return data.decode()

    # --- binding ---
    def subject(self, instance) -> str:
        if not self.subject_field:
            return ""
        return f"{self.subject_field}={getattr(instance, self.subject_field)}"

    def _row(self, instance):
        row = getattr(instance, self._row_attname)
        if row is None:
            raise ValueError(
                f"{self.model._meta.label}.{self.name}: the row id ({self.row_field}) must be "
                "known before the value is encrypted; use a UUID primary key"
            )
        return row

    @cached_property
    def _row_attname(self) -> str:
        if self.row_field == "pk":
            return self.model._meta.pk.attname
        try:
            return self.model._meta.get_field(self.row_field).attname
        except FieldDoesNotExist:
            return self.row_field  # a plain attribute set at construction

    def aad(self, instance) -> bytes:
        return self._binding(instance)[0]

    def _binding(self, instance) -> tuple[bytes, str]:
        """(associated data, subject) of `instance`, memoised on the instance for as long
        as its tenant, row id and subject stay the same (the hot path)."""
        d = instance.__dict__
        tenant_id = d.get("tenant_id")
        row = d.get(self._row_attname)
        if tenant_id is None or row is None:  # deferred or not set: the slow way
            tenant_id, row = instance.tenant_id, self._row(instance)
        subject = self.subject(instance) if self.subject_field else ""
        memo = d.get(self._memo_key)
        if memo is not None and memo[1] is row and memo[0] == tenant_id and memo[2] == subject:
            return memo[3], subject
        aad = _associated_data(tenant_id, self._label, self.name, row, subject)
        d[self._memo_key] = (tenant_id, row, subject, aad)
        return aad, subject

    def open(self, instance, envelope):
        """Envelope (binary, or a legacy/transit text one) -> plaintext value."""
        d = instance.__dict__
        memo = d.get(self._memo_key)
        # Inlined check of _binding()'s memo (tenant ring only): the hot path.
        if (
            memo is not None
            and memo[1] is d.get(self._row_attname)
            and memo[0] == d.get("tenant_id")
            and not self.subject_field
        ):
            aad, subject = memo[3], ""
        else:
            aad, subject = self._binding(instance)
        data = _decrypt(envelope, aad, subject)
        return data.decode() if self._text else self.decode_plain(data)

    def seal(self, instance, value) -> bytes:
        """Plaintext value -> binary envelope under the tenant's current key."""
        d = instance.__dict__
        memo = d.get(self._memo_key)
        if (
            memo is not None
            and memo[1] is d.get(self._row_attname)
            and memo[0] == d.get("tenant_id")
            and not self.subject_field
        ):
            aad, subject = memo[3], ""
        else:
            aad, subject = self._binding(instance)
        plain = value.encode() if self._text and type(value) is str else self.encode_plain(value)
        return _encrypt(plain, aad, subject)

    # --- Django hooks ---
    def from_db_value(self, value, expression, connection):
        return None if value is None else Sealed(_as_bytes(value))

    def to_python(self, value):
        # Deserialisation (loaddata) hands back what value_to_string() exported: the text
        # envelope. Plaintext values never come through here (see clean()).
        if isinstance(value, str) and value.startswith(crypto.PREFIX):
            try:
                return _Imported(crypto.to_binary(value))
            except MalformedCiphertext:
                return value
        return value

    def clean(self, value, model_instance):
        # Forms and full_clean() carry plaintext: never reinterpret it as ciphertext.
        self.validate(value, model_instance)
        self.run_validators(value)
        return value

    def pre_save(self, instance, add):
        value = instance.__dict__.get(self.attname)
        if value is None:
            return None
        if isinstance(value, Sealed):
            return _Envelope(_stored(value.envelope))
        previous = instance.__dict__.get("_dim_sealed", {}).get(self.attname)
        if previous is not None and previous[1] == value:
            return _Envelope(_stored(previous[0]))
        envelope = self.seal(instance, value)
        instance.__dict__.setdefault("_dim_sealed", {})[self.attname] = (envelope, value)
        return _Envelope(envelope)

    def get_prep_value(self, value):
        # Writes that bypass pre_save() (bulk_update(), update(field=...)) would store
        # whatever they were given: only ciphertext may reach the column.
        if value is None or isinstance(value, _Envelope):
            return value
        if isinstance(value, Sealed):
            return _stored(value.envelope)
        raise ValueError(
            f"{self.model._meta.label}.{self.name} is encrypted: write it with save() or "
            "bulk_create() (bulk_update() and update() would store it unencrypted); "
            "to store an existing envelope, pass Sealed.from_text(...)"
        )

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        return None if value is None else bytes(value)  # drivers adapt plain bytes

    def get_lookup(self, lookup_name):
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def value_to_string(self, obj):
        # Serialisation (dumpdata) exports the text envelope, never the plaintext.
        value = obj.__dict__.get(self.attname)
        if value is None:
            return None
        envelope = value.envelope if isinstance(value, Sealed) else self.pre_save(obj, False)
        return crypto.to_text(envelope)


class EncryptedJSONField(EncryptedTextField):
    _text = False

    def encode_plain(self, value) -> bytes:
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()

    def decode_plain(self, data: bytes):
        return json.loads(data)
