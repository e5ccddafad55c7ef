"""Settings of the live server that schemathesis drives (tests/test_api_schemathesis.py):
the product's own settings (no test apps, so the schema is the product's API), with
what keeps that server from touching the test session's state.

- A fast password hasher: schemathesis signs in with Basic auth for its tokens and sends
  wrong passwords on purpose (each costs a full hash, like a right one).
- Its own cache key prefix: the same Redis database as the tests, other keys.
- Celery on the in-memory transport: tasks the API starts (a rewrap) are queued in that
  process only, never on the broker a test worker listens to.
"""

from config.settings import *  # noqa: F403
from config.settings import CACHES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES["default"]["KEY_PREFIX"] = "schemathesis"
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
