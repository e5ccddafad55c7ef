import pytest

from tests.isolation.checks import build_world


@pytest.fixture
def world(tenant_alpha, tenant_beta):
    return build_world(tenant_alpha, tenant_beta)


@pytest.fixture(params=["pooled", "dedicated"])
def any_world(request, tenant_alpha, tenant_beta):
    """The world in both isolation modes (issue 17): `pooled`, the shared tables of the
    default database; `dedicated`, both tenants routed to a database that is not the
    default one, and the same one, so its tables hold both tenants' rows and only the
    scoped managers and that database's forced RLS keep them apart."""
    if request.param == "dedicated":
        from django.contrib.auth import get_user_model

        # The factories' user (tests/isolation/factories.py), made before dedicate()
        # copies the users a dedicated tenant's rows may point at.
        get_user_model().objects.get_or_create(username="conformance-user")
        dedicate = request.getfixturevalue("dedicate")
        alias = dedicate(tenant_alpha)
        dedicate(tenant_beta, share=alias)
    return build_world(tenant_alpha, tenant_beta)
