# The TOTP seed column moves from text envelopes to binary ones (bytea / BLOB); existing
# rows are re-encoded without decrypting anything (see security_mgr.migration_ops).

from django.db import migrations

import security_mgr.fields
from security_mgr.migration_ops import AlterEncryptedFieldToBinary, convert_rows


class Migration(migrations.Migration):
    dependencies = [
        ("security_mgr", "0005_passkeycredential"),
    ]

    operations = [
        AlterEncryptedFieldToBinary(
            model_name="totpdevice",
            name="secret",
            field=security_mgr.fields.EncryptedTextField(),
        ),
        convert_rows("security_mgr", "totpdevice", "secret"),
    ]
