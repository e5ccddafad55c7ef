import pytest
from asgiref.sync import async_to_sync

from managers import SecurityManager

pytestmark = pytest.mark.django_db


def test_sync_facade(tenant_a, tenant_b):
    manager = SecurityManager()
    ciphertext = manager.encrypt("hello", context="c1", tenant=tenant_a)
    assert manager.decrypt(ciphertext, context="c1", tenant=tenant_a) == b"hello"
    assert manager.rotate_key(tenant=tenant_a) == 2
    seq = manager.record_event("export.created", {"rows": 3}, actor="alice", tenant=tenant_a)
    head = manager.sign_tree_head(tenant=tenant_a)
    assert head["tree_size"] == seq + 1
    proof = manager.inclusion_proof(seq, tenant=tenant_a)
    assert proof["root_hash"] == head["root_hash"]
    assert manager.verify_audit(tenant=tenant_a)["ok"]
    assert manager.verify_audit(tenant=tenant_b)["entries"] == 0
    verdict = manager.analyze_threat("login", username="u", ip="1.2.3.4", tenant=tenant_a)
    assert verdict["allowed"]


def test_async_facade(tenant_a):
    # Driven through async_to_sync so the async twins' thread-sensitive work runs on
    # this thread, the one holding the test transaction.
    manager = SecurityManager()

    async def scenario():
        ciphertext = await manager.aencrypt("hi", context="c", tenant=tenant_a.pk)
        assert await manager.adecrypt(ciphertext, context="c", tenant=tenant_a.pk) == b"hi"
        return await manager.akey_rings(tenant=tenant_a.pk)

    rings = async_to_sync(scenario)()
    assert rings[0]["current_version"] == 1
