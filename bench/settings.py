"""Settings of the bench process: the test settings (which install the scoped test
models) plus the bench app, whose unmanaged models map the plain peer tables, and a
URLconf that adds the plain peer API next to the real one."""

from config.settings_test import *  # noqa: F403
from config.settings_test import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
ROOT_URLCONF = "bench.urls"
# Both API sides authenticate with Basic auth on every request; PBKDF2 would be ~99% of
# each request and hide the tenant machinery the API row is about.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
