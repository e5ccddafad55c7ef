import importlib

import pytest

from metadata_mgr import schema_compat


class EngineSpy:
    """The real compatibility engine (metadata_mgr.compat), with a record of what the
    registry asked it: the registry's tests check what is checked against what."""

    def __init__(self):
        self.calls: list[dict] = []

    def check(self, new_schema, previous_schemas, mode, **options):
        checker = importlib.import_module("metadata_mgr.compat.checker")

        self.calls.append(
            {"new": new_schema, "previous": list(previous_schemas), "mode": mode, **options}
        )
        return checker.check(new_schema, previous_schemas, mode, **options)

    def evolve(self, history, records, mode, **options):
        # The module (the package's `evolve` attribute is the function of that name).
        module = importlib.import_module("metadata_mgr.compat.evolve")

        self.calls.append({"evolve": True, "history": list(history), "mode": mode, **options})
        return module.evolve(history, records, mode, **options)


@pytest.fixture
def engine():
    spy = EngineSpy()
    with schema_compat.use_engine(checker=spy, evolver=spy):
        yield spy


@pytest.fixture
def in_alpha(tenant_alpha):
    from tenancy.context import tenant_context

    with tenant_context(tenant_alpha):
        yield tenant_alpha
