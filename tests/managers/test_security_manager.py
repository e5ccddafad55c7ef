"""The SecurityManager facade: sync methods `<name>_sync`, async twins `<name>`."""

import pytest
from asgiref.sync import async_to_sync

from managers import SecurityManager
from security_mgr.exceptions import KeyVersionUnknown
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def test_security_manager_sync_methods(tenant_alpha, tenant_beta):
    manager = SecurityManager()
    ciphertext = manager.encrypt_sync("hello", context="c1", tenant=tenant_alpha)
    assert manager.decrypt_sync(ciphertext, context="c1", tenant=tenant_alpha) == b"hello"
    assert manager.rotate_key_sync(tenant=tenant_alpha) == 2
    seq = manager.record_event_sync(
        "export.created", {"rows": 3}, actor="alice", tenant=tenant_alpha
    )
    head = manager.sign_tree_head_sync(tenant=tenant_alpha)
    assert head["tree_size"] == seq + 1
    proof = manager.inclusion_proof_sync(seq, tenant=tenant_alpha)
    assert proof["root_hash"] == head["root_hash"]
    assert manager.verify_audit_sync(tenant=tenant_alpha)["ok"]
    assert manager.verify_audit_sync(tenant=tenant_beta)["entries"] == 0
    verdict = manager.analyze_threat_sync("login", username="u", ip="1.2.3.4", tenant=tenant_alpha)
    assert verdict["allowed"]


def test_security_manager_async_twins_have_the_plain_names(tenant_alpha):
    # Driven through async_to_sync so the twins' thread-sensitive work runs on this
    # thread, the one holding the test transaction.
    manager = SecurityManager()

    async def scenario():
        ciphertext = await manager.encrypt("hi", context="c", tenant=tenant_alpha.pk)
        assert await manager.decrypt(ciphertext, context="c", tenant=tenant_alpha.pk) == b"hi"
        return await manager.key_rings(tenant=tenant_alpha.pk)

    rings = async_to_sync(scenario)()
    assert rings[0]["current_version"] == 1


def test_security_manager_rewrap_is_sent_once_committed(
    tenant_alpha, django_capture_on_commit_callbacks
):
    from jobs_mgr.models import Job, JobState

    manager = SecurityManager()
    with pytest.raises(KeyVersionUnknown, match="no key version 9"):
        manager.start_rewrap_sync(target_version=9, tenant=tenant_alpha)
    with django_capture_on_commit_callbacks(execute=False) as to_send:
        job_id = manager.start_rewrap_sync(tenant=tenant_alpha)
    with tenant_context(tenant_alpha):
        assert Job.objects.get(pk=job_id).state == JobState.QUEUED  # not sent yet
        for send in to_send:  # the commit
            send()
        assert Job.objects.get(pk=job_id).state == JobState.SUCCEEDED  # an (eager) worker ran it
