import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions_mgr import tokens
from sessions_mgr.actions import do_rotate_session_key
from sessions_mgr.models import Session
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate
from tenancy.context import tenant_context


def test_tokens_mint_parse_roundtrip():
    token = tokens.mint(
        tenant_id=7, session_id="ab" * 16, generation=2, key_version=3, level="high",
        issued_at=1_700_000_000_000, expires_at=1_700_003_600,
    )  # fmt: skip
    parsed = tokens.parse(token)
    assert (parsed.tenant_id, parsed.session_id, parsed.generation) == (7, "ab" * 16, 2)
    assert (parsed.key_version, parsed.level, parsed.expires_at) == (3, "high", 1_700_003_600)
    assert parsed.signature is None
    tokens.check_mac(parsed)
    secret = token.split(".")[8]
    assert len(base64.urlsafe_b64decode(secret + "==")) * 8 >= 128


def test_tokens_changed_tenant_fails_mac():
    token = tokens.mint(
        tenant_id=7, session_id="ab" * 16, generation=0, key_version=1, level="standard",
        issued_at=1, expires_at=2,
    )  # fmt: skip
    forged = token.replace("dst1.7.", "dst1.8.", 1)
    with pytest.raises(TokenError) as exc:
        tokens.check_mac(tokens.parse(forged))
    assert exc.value.reason == "bad_signature"


@given(st.one_of(st.text(max_size=300), st.binary(max_size=100), st.none(), st.integers()))
def test_tokens_parser_fuzz_only_token_errors(value):
    try:
        tokens.parse(value)
    except TokenError as exc:
        assert exc.reason == "malformed"


@pytest.mark.django_db
def test_tokens_validate_fuzz_mutations_only_token_errors(make_session, view):
    _session, token = make_session()

    @settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.integers(min_value=0, max_value=len(token) - 1),
        st.sampled_from(list("0123456789abcdefXYZ_-.=~ ")),
        st.integers(min_value=0, max_value=len(token)),
    )
    def check(position, char, cut):
        mutated = (token[:position] + char + token[position + 1 :])[: max(cut, 1)]
        if mutated == token:
            return
        with pytest.raises(TokenError) as exc:
            validate(mutated)
        assert exc.value.reason in {"malformed", "bad_signature", "revoked", "expired"}

    check()


@pytest.mark.django_db
def test_tokens_only_hash_stored(make_session, tenant_alpha):
    session, token = make_session()
    with tenant_context(tenant_alpha):
        row = Session.objects.get(pk=session.pk)
    assert row.token_hash == tokens.hash_token(token)
    assert token.split(".")[8] not in row.token_hash


@pytest.mark.django_db
def test_tokens_key_rotation_keeps_old_tokens_for_grace(make_session, tenant_alpha, view):
    _s, old = make_session()
    with tenant_context(tenant_alpha):
        state = do_rotate_session_key(grace_seconds=3600)
    assert state.current == 2 and state.previous == 1
    _s2, new = make_session()
    assert tokens.parse(new).key_version == 2
    validate(old)
    validate(new)
    from django.utils import timezone

    from sessions_mgr import keys
    from sessions_mgr.models import SessionKeyVersion

    with tenant_context(tenant_alpha):  # the grace period is over
        SessionKeyVersion.objects.filter(version=1).update(accepted_until=timezone.now())
    keys.forget_state()
    with pytest.raises(TokenError) as exc:
        validate(old)
    assert exc.value.reason == "key_retired"  # genuine, retired: not a forgery
    validate(new)


@pytest.mark.django_db
def test_tokens_quantum_signature_verifies_offline(
    make_session, tenant_alpha, api, alpha_owner_mfa
):
    _s, token = make_session(security_level="quantum", mfa_code=alpha_owner_mfa.backup())
    body = api.get(f"/api/v1/tenants/{tenant_alpha.slug}/session-keys/").json()
    assert body["algorithm"] == "ML-DSA-65"
    public = base64.urlsafe_b64decode(body["keys"][0]["public_key"] + "==")
    parsed = tokens.verify_offline(token, public)
    assert parsed.level == "quantum"
    tampered = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
    with pytest.raises(TokenError):
        tokens.verify_offline(tampered, public)
    validate(token)  # and it is a valid session token


@pytest.mark.django_db
def test_tokens_public_keys_unknown_tenant_404(api):
    assert api.get("/api/v1/tenants/nope/session-keys/").status_code == 404
