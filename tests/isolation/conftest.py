import pytest

from tests.isolation.checks import build_world


@pytest.fixture
def world(tenant_alpha, tenant_beta):
    return build_world(tenant_alpha, tenant_beta)
