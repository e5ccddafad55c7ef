"""Other processes drop a changed key ring promptly: Redis pub/sub after the commit, and
a one-second bound on cached entries whenever the listener is not healthy."""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from security_mgr import actions, crypto, invalidation, keyring
from security_mgr.exceptions import KeyShredded, KeyVersionBelowMinimum
from security_mgr.models import DataKey, KeyRing
from tenancy.context import tenant_context
from tenancy.pubsub import Listener, redis_client
from tests.markers import redis_only

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db

needs_redis = redis_only(
    "invalidation travels over pub/sub; without it the one-second bound applies "
    "(test_invalidation_unhealthy_listener_bounds_stale_entries)"
)


def _aad(tenant, row="row-1"):
    return crypto.associated_data(tenant.pk, "tests.thing", "field", row)


@pytest.fixture
def commits(django_capture_on_commit_callbacks):
    """`with commits(execute=True):` runs the on-commit callbacks (the test itself
    never commits)."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def committed_ring(commits, monkeypatch):
    """Create a ring as a committed transaction would leave it (the test's own
    transaction never commits, and a ring changed by an uncommitted transaction is
    never cached). Publishing is off: this process would receive its own message."""
    monkeypatch.setattr(invalidation, "publish", lambda tenant_id, subject: False)

    def create(tenant, subject=""):
        with tenant_context(tenant), commits(execute=True):
            actions.do_create_key_ring(tenant, subject=subject)
        # The tenant's own ring came with the tenant, in the test's transaction: let it
        # be cached as its commit would.
        keyring.release(tenant.pk, subject)

    return create


@pytest.fixture
def listener_state(monkeypatch):
    """Set the listener's health for the test, without a thread."""

    def set_health(healthy: bool):
        monkeypatch.setattr(invalidation.listener, "healthy", healthy)
        monkeypatch.setattr(invalidation.listener, "_thread", object())  # "running"

    return set_health


def test_invalidation_apply_drops_the_named_entries(
    tenant_alpha, tenant_beta, committed_ring, listener_state
):
    # A healthy listener without a thread: no (re)subscription drops the cache midway and
    # entries are trusted past the one-second bound, however slow the machine is.
    listener_state(True)
    for tenant in (tenant_alpha, tenant_beta):
        committed_ring(tenant)
        committed_ring(tenant, "owner=carol")
        with tenant_context(tenant):
            keyring.encrypt(b"x", _aad(tenant))
            keyring.encrypt(b"x", _aad(tenant), subject="owner=carol")
    assert len(keyring._cache) == 4
    assert invalidation.apply(f"r|{tenant_alpha.pk}|owner=carol")
    assert (tenant_alpha.pk, "owner=carol") not in keyring._cache
    assert tenant_alpha.pk in keyring._cache and (tenant_beta.pk, "owner=carol") in keyring._cache
    assert invalidation.apply(f"t|{tenant_beta.pk}")
    assert set(keyring._cache) == {tenant_alpha.pk}
    assert not invalidation.apply("garbage")
    assert not invalidation.apply("t|not-a-number")
    assert set(keyring._cache) == {tenant_alpha.pk}


def test_invalidation_is_published_after_commit_only(tenant_alpha, monkeypatch, commits):
    published = []
    monkeypatch.setattr(invalidation, "publish", lambda t, s: published.append((t, s)))
    with tenant_context(tenant_alpha):
        keyring.encrypt(b"x", _aad(tenant_alpha))
        with commits(execute=True):
            actions.rotate_key(reason="test")
            assert published == []  # not before the commit
        assert published == [(tenant_alpha.pk, "")]
        with commits(execute=True):
            actions.set_min_decryption_version(2)
            actions.shred_keys(subject="owner=dave", reason="erasure")
            actions.shred_keys(reason="tenant erasure")
    assert published[1:] == [
        (tenant_alpha.pk, ""),
        (tenant_alpha.pk, "owner=dave"),
        (tenant_alpha.pk, None),
    ]


def _stale_entry(tenant, monkeypatch, committed_ring, age: float):
    """A cached ring whose row then changes behind the cache's back (another process
    shredded it and the message never came), seen `age` seconds later."""
    committed_ring(tenant)
    with tenant_context(tenant):
        text = keyring.encrypt(b"secret", _aad(tenant))
        assert tenant.pk in keyring._cache
        KeyRing.objects.filter(subject="").update(shredded_at=timezone.now())
        DataKey.objects.update(wrapped_key=b"", state="shredded")
    now = time.monotonic()
    monkeypatch.setattr(keyring, "_monotonic", lambda: now + age)
    return text


def test_invalidation_unhealthy_listener_bounds_stale_entries(
    tenant_alpha, monkeypatch, listener_state, committed_ring
):
    listener_state(False)
    text = _stale_entry(tenant_alpha, monkeypatch, committed_ring, age=keyring._UNTRUSTED_AGE + 0.5)
    with tenant_context(tenant_alpha), pytest.raises(KeyShredded):
        keyring.decrypt(text, _aad(tenant_alpha))  # older than the bound: reloaded, refused


def test_invalidation_healthy_listener_trusts_the_cache_until_the_ttl(
    tenant_alpha, monkeypatch, listener_state, committed_ring
):
    listener_state(True)
    text = _stale_entry(tenant_alpha, monkeypatch, committed_ring, age=keyring._UNTRUSTED_AGE + 0.5)
    with tenant_context(tenant_alpha):
        # No message came: a healthy listener means "no change", so the entry serves...
        assert keyring.decrypt(text, _aad(tenant_alpha)) == b"secret"
        monkeypatch.setattr(keyring, "_monotonic", lambda: time.monotonic() + 3600)
        with pytest.raises(KeyShredded):  # ...until the TTL backstop
            keyring.decrypt(text, _aad(tenant_alpha))


def test_invalidation_load_overlapping_a_forget_is_not_cached(
    tenant_alpha, monkeypatch, committed_ring
):
    real = KeyRing.objects.filter

    def filter_then_message(*args, **kwargs):
        result = real(*args, **kwargs)
        list(result)  # the row is read (old state)...
        keyring.forget(tenant_alpha.pk)  # ...and a message drops the ring meanwhile
        return result

    committed_ring(tenant_alpha)
    with tenant_context(tenant_alpha):
        keyring.encrypt(b"x", _aad(tenant_alpha))
        assert tenant_alpha.pk in keyring._cache  # normally cached
        keyring.forget()
        monkeypatch.setattr(KeyRing.objects, "filter", filter_then_message)
        keyring.current_version()
    assert tenant_alpha.pk not in keyring._cache


@needs_redis
def test_invalidation_second_listener_receives_the_message(tenant_alpha, commits):
    received = []
    other = Listener(
        invalidation.CHANNEL,
        name="test-second-listener",
        client=lambda: redis_client(settings.REDIS_URL),
        on_message=received.append,
    )
    other.start()
    try:
        deadline = time.monotonic() + 10
        while not other.healthy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert other.healthy
        with tenant_context(tenant_alpha):
            keyring.encrypt(b"x", _aad(tenant_alpha))
            with commits(execute=True):
                actions.shred_keys(reason="test")
        wanted = f"t|{tenant_alpha.pk}"
        deadline = time.monotonic() + 10
        while wanted not in received and time.monotonic() < deadline:
            time.sleep(0.01)
        assert wanted in received
    finally:
        other.stop()
    assert not other.healthy


@needs_redis
def test_invalidation_min_version_refused_in_other_process(tenant_alpha, commits):
    with tenant_context(tenant_alpha):
        envelope = keyring.encrypt_binary(b"readable", _aad(tenant_alpha))
        key = DataKey.objects.get(version=1)
        secret = keyring.unwrap_data_key(tenant_alpha.pk, "", 1, key.wrapped_key, key.algorithm)
    job = {
        "tenant_id": tenant_alpha.pk,
        "subject": "",
        "version": 1,
        "key": base64.b64encode(secret).decode(),
        "envelope": base64.b64encode(envelope).decode(),
        "aad": base64.b64encode(_aad(tenant_alpha)).decode(),
    }
    peer = subprocess.Popen(
        [sys.executable, "-m", "security_mgr.tests.keyring_peer"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        peer.stdin.write(json.dumps(job) + "\n")
        peer.stdin.flush()
        assert peer.stdout.readline().strip() == "ready"  # readable there before
        with tenant_context(tenant_alpha):
            with commits(execute=True):
                actions.rotate_key(reason="test")
            with commits(execute=True):
                actions.set_min_decryption_version(2)
            with pytest.raises(KeyVersionBelowMinimum):
                keyring.decrypt(envelope, _aad(tenant_alpha))  # here: at once
        line = peer.stdout.readline().strip()
        # There: refused after the message dropped its entry (one subscription, so not
        # a reconnection; an hour's TTL, so not expiry). Its reload cannot see this
        # test's uncommitted rows (not even the tenant's ring), hence "missing" rather
        # than "below minimum".
        assert line.startswith("refused KeyRingMissing applied="), line
        assert "subscriptions=1" in line and "applied=0" not in line, line
        assert peer.wait(timeout=10) == 0
    finally:
        if peer.poll() is None:
            peer.kill()


def test_invalidation_ring_of_a_rolled_back_transaction_is_never_cached(tenant_alpha):
    from django.db import transaction

    with tenant_context(tenant_alpha):
        with pytest.raises(RuntimeError), transaction.atomic():
            keyring.encrypt(b"lost", _aad(tenant_alpha))  # first use: creates the ring...
            keyring.encrypt(b"lost", _aad(tenant_alpha))  # ...read back uncommitted
            assert tenant_alpha.pk not in keyring._cache
            raise RuntimeError("rolled back")
        # Had the uncommitted ring been cached, this would seal under a key that no
        # longer exists anywhere, and the reload below could not open it.
        text = keyring.encrypt(b"kept", _aad(tenant_alpha))
        keyring.forget()
        assert keyring.decrypt(text, _aad(tenant_alpha)) == b"kept"
