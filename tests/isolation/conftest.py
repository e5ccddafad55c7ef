import pytest

from tests.isolation.checks import build_world


@pytest.fixture
def world(tenant_a, tenant_b):
    return build_world(tenant_a, tenant_b)
