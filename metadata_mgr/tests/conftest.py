import pytest

from metadata_mgr import schema_compat
from metadata_mgr.tests import stand_in_engine


@pytest.fixture
def engine():
    """The STAND-IN compatibility engine (tests/stand_in_engine.py). Tests using this
    fixture must be re-pointed at metadata_mgr.compat once it lands."""
    stand_in_engine.calls.clear()
    with schema_compat.use_engine(checker=stand_in_engine, evolve=stand_in_engine):
        yield stand_in_engine


@pytest.fixture
def in_alpha(tenant_alpha):
    from tenancy.context import tenant_context

    with tenant_context(tenant_alpha):
        yield tenant_alpha
