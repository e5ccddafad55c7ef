from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("security_mgr", "0006_binary_envelopes"),
    ]

    operations = [
        # Every passkey registered before this field existed was verified with user
        # verification required: those rows are true, new rows start false.
        migrations.AddField(
            model_name="passkeycredential",
            name="user_verified",
            field=models.BooleanField(default=True),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="passkeycredential",
            name="user_verified",
            field=models.BooleanField(default=False),
        ),
    ]
