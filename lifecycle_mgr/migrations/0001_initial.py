# The app's first migration is empty on purpose: the registry and its features arrive in
# later migrations, built side by side.
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = []
