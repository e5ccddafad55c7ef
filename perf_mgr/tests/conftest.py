import pytest

from perf_mgr import store
from perf_mgr.models import MINUTE_US, now_us
from tenancy.context import tenant_context


@pytest.fixture
def write_samples():
    """write(tenant, [(name, labels dict, value, at_us), ...]) straight into the store."""

    def write(tenant, samples):
        rows = [
            (name, tuple(sorted((labels or {}).items())), "custom", float(value), at)
            for name, labels, value, at in samples
        ]
        with tenant_context(tenant):
            return store.write(rows)

    return write


@pytest.fixture
def minute_ago():
    """A fixed time well inside the last hour, on a whole minute."""
    now = now_us()
    return now - now % MINUTE_US - 5 * MINUTE_US


@pytest.fixture
def receiver():
    from perf_mgr.tests.alerting_helpers import Receiver

    server = Receiver()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _alerts_sent_without_group_wait(settings):
    """The alerting tests deliver right after a transition; the grouping tests set a
    tenant route (AlertRoute) with its own waits."""
    settings.ALERTING_GROUP_WAIT_S = 0.0
