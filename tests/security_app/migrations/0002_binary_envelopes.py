# Encrypted columns move from text envelopes to binary ones (see security_mgr.migration_ops).

from django.db import migrations

import security_mgr.fields
from security_mgr.migration_ops import AlterEncryptedFieldToBinary, convert_rows


class Migration(migrations.Migration):
    dependencies = [
        ("security_app", "0001_initial"),
    ]

    operations = [
        AlterEncryptedFieldToBinary(
            model_name="secretnote",
            name="body",
            field=security_mgr.fields.EncryptedTextField(),
        ),
        AlterEncryptedFieldToBinary(
            model_name="secretnote",
            name="extra",
            field=security_mgr.fields.EncryptedJSONField(blank=True, null=True),
        ),
        AlterEncryptedFieldToBinary(
            model_name="secretnote",
            name="private",
            field=security_mgr.fields.EncryptedTextField(
                blank=True, null=True, subject_field="owner"
            ),
        ),
        convert_rows("security_app", "secretnote", "body", "extra", "private"),
    ]
