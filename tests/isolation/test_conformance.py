"""Isolation conformance: every TenantScopedModel in the app registry, automatically."""

import pytest

from tenancy.models import scoped_models
from tests.isolation import checks

MODELS = scoped_models()
IDS = [m._meta.label for m in MODELS]


def test_conformance_discovers_models():
    labels = set(IDS)
    # The product's own scoped model and the relation fixtures are all discovered.
    assert {"tenancy.TenantSetting", "scoping_app.Folder", "scoping_app.Document"} <= labels


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_conformance_no_context_every_operation_raises(model, any_world):
    checks.check_no_context_raises(model, any_world)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_conformance_other_tenant_invisible(model, any_world):
    checks.check_other_tenant_invisible(model, any_world)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_conformance_writes_naming_other_tenant_fail(model, any_world):
    checks.check_writes_naming_other_tenant_fail(model, any_world)
