"""Migration pieces for moving encrypted columns from text envelopes to binary ones.

- `LegacyEncryptedTextField`: what the historical migrations (before the binary format)
  call the encrypted fields, so that the migration state knows those columns were text
  and the move to bytea/BLOB is a real column change. Never use it in a model.
- `AlterEncryptedFieldToBinary`: the AlterField of that move. On PostgreSQL the type
  change is `USING convert_to(column, 'UTF8')` (the text envelope's ASCII bytes, where
  Django's default `column::bytea` would interpret backslashes); elsewhere Django's own
  alteration (SQLite rebuilds the table and keeps the values, still as TEXT).
- `convert_rows(app_label, model_name, *columns)`: a RunPython that rewrites every text
  envelope of those columns into the binary form (same version, nonce and ciphertext:
  no key is needed, nothing is decrypted), tenant by tenant, since RLS (FORCE) fences
  even the owner role that runs migrations. Its reverse writes text envelopes back.
"""

from __future__ import annotations

from django.db import migrations, models


class LegacyEncryptedTextField(models.TextField):
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


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class AlterEncryptedFieldToBinary(migrations.AlterField):
    def _postgres(self, app_label, schema_editor, from_state, to_state, sql_template):
        model = to_state.apps.get_model(app_label, self.model_name)
        column = model._meta.get_field(self.name).column
        # Rows updated earlier in this transaction (the reverse of convert_rows) leave
        # deferred foreign-key checks pending, and ALTER TABLE refuses to run over them.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute(
            sql_template.format(table=_quote(model._meta.db_table), column=_quote(column))
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        self._postgres(
            app_label,
            schema_editor,
            from_state,
            to_state,
            "ALTER TABLE {table} ALTER COLUMN {column} TYPE bytea "
            "USING convert_to({column}, 'UTF8')",
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        # The reverse of convert_rows ran first: every value is a text envelope again.
        self._postgres(
            app_label,
            schema_editor,
            from_state,
            to_state,
            "ALTER TABLE {table} ALTER COLUMN {column} TYPE text "
            "USING convert_from({column}, 'UTF8')",
        )

    def describe(self):
        return f"Alter encrypted field {self.name} on {self.model_name} to a binary column"


def _tenant_ids(connection) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenancy_tenant ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _rewrite(apps, schema_editor, app_label, model_name, columns, convert) -> None:
    from tenancy.context import TenantRef, tenant_context

    connection = schema_editor.connection
    model = apps.get_model(app_label, model_name)
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    for tenant_id in _tenant_ids(connection):
        # The tenant context makes the backend set app.tenant_id, which RLS reads.
        with tenant_context(TenantRef(tenant_id, f"migration-{tenant_id}")):
            for column in columns:
                col = connection.ops.quote_name(column)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {pk}, {col} FROM {table} "  # noqa: S608 (quoted names)
                        f"WHERE tenant_id = %s AND {col} IS NOT NULL",
                        [tenant_id],
                    )
                    rows = cursor.fetchall()
                updates = []
                for row_id, value in rows:
                    new = convert(value)
                    if isinstance(new, str) and connection.vendor == "postgresql":
                        new = new.encode()  # the column is still bytea when reversing
                    if new is not None:
                        updates.append((new, row_id))
                if updates:
                    with connection.cursor() as cursor:
                        cursor.executemany(
                            f"UPDATE {table} SET {col} = %s "  # noqa: S608 (quoted names)
                            f"WHERE {pk} = %s",
                            updates,
                        )


def _raw(value) -> bytes:
    if isinstance(value, str):
        return value.encode()
    return bytes(value)


def _text_to_binary(value):
    from security_mgr import crypto
    from security_mgr.exceptions import MalformedCiphertext

    data = _raw(value)
    if data[:5] != b"dim:v" and not isinstance(value, str):
        return None  # already binary
    try:
        return crypto.to_binary(data)
    except MalformedCiphertext:
        return None  # left as it was: reading it names the problem


def _binary_to_text(value):
    from security_mgr import crypto
    from security_mgr.exceptions import MalformedCiphertext

    data = _raw(value)
    if data[:5] == b"dim:v":
        return None
    try:
        return crypto.to_text(data)
    except MalformedCiphertext:
        return None


def convert_rows(app_label: str, model_name: str, *columns: str) -> migrations.RunPython:
    def forwards(apps, schema_editor):
        _rewrite(apps, schema_editor, app_label, model_name, columns, _text_to_binary)

    def backwards(apps, schema_editor):
        _rewrite(apps, schema_editor, app_label, model_name, columns, _binary_to_text)

    return migrations.RunPython(forwards, backwards, elidable=False)
