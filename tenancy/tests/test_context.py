import logging

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from tenancy.context import (
    TenantRef,
    get_current_tenant_id,
    in_platform_access,
    platform_access,
    require_tenant_id,
    tenant_context,
)
from tenancy.exceptions import TenantContextMissing

A = TenantRef(1, "alpha")
B = TenantRef(2, "beta")


def test_tenant_context_nests_and_restores():
    assert get_current_tenant_id() is None
    with tenant_context(A):
        with tenant_context(B):
            assert get_current_tenant_id() == 2
        assert get_current_tenant_id() == 1
    assert get_current_tenant_id() is None


def test_tenant_context_restores_after_exception():
    with pytest.raises(ZeroDivisionError), tenant_context(A):
        1 / 0
    assert get_current_tenant_id() is None


def test_require_tenant_id_without_context_raises_clear_error():
    with pytest.raises(TenantContextMissing, match="tenant_context"):
        require_tenant_id("listing documents")


def test_context_flows_into_sync_to_async_and_back():
    async def inner():
        return await sync_to_async(get_current_tenant_id)()

    with tenant_context(A):
        assert async_to_sync(inner)() == 1


async def test_context_is_per_task_in_async_code():
    import asyncio

    async def worker(ref):
        with tenant_context(ref):
            await asyncio.sleep(0.01)
            return get_current_tenant_id()

    assert await asyncio.gather(worker(A), worker(B)) == [1, 2]
    assert get_current_tenant_id() is None


def test_platform_access_needs_a_reason():
    with pytest.raises(ValueError, match="reason"):
        with platform_access(""):
            pass


def test_platform_access_is_recorded(caplog, db):
    with caplog.at_level(logging.WARNING, logger="dim.audit"):
        with platform_access("nightly billing export", actor="ops"):
            assert in_platform_access()
            assert get_current_tenant_id() is None
    assert not in_platform_access()
    record = next(r for r in caplog.records if r.getMessage() == "platform_access")
    assert record.reason == "nightly billing export" and record.actor == "ops"


@pytest.mark.django_db
def test_tenant_context_accepts_an_id(tenant_alpha):
    with tenant_context(tenant_alpha.pk) as ref:
        assert ref.slug == "alpha"
