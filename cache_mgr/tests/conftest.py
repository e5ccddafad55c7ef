import pytest
from django.conf import settings

from cache_mgr import tiers
from tests.outages import wait_until


@pytest.fixture
def coherent():
    """With Redis, the in-process tier serves only once this process hears the
    invalidation channel: start the listener and wait for its subscription."""
    if settings.REDIS_URL:
        tiers.listener.start()
        wait_until(lambda: tiers.listener.healthy, "the cache_mgr listener subscribes")
    return tiers
