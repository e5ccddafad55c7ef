"""The strict token parser (issue 10, point 7): exact field counts and lengths per level,
one canonical spelling of every field. Hypothesis appends to, truncates and re-encodes
real tokens of every level: none of them may parse as anything but `malformed`, or
(where the text is still a well-formed token) validate."""

import base64
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sessions_mgr import tokens
from sessions_mgr.tokens import TokenError
from sessions_mgr.validation import validate

LEVELS = ["standard", "high", "critical", "quantum"]
B64URL = string.ascii_letters + string.digits + "-_"


def mint(level="standard", **overrides):
    fields = dict(
        tenant_id=7, session_id="ab" * 16, generation=2, key_version=3, level=level,
        issued_at=1_700_000_000_000, expires_at=1_700_003_600, signed=level == "quantum",
    )  # fmt: skip
    fields.update(overrides)
    return tokens.mint(**fields)


TOKENS = {level: mint(level) for level in LEVELS}


def malformed(text) -> bool:
    with pytest.raises(TokenError) as exc:
        tokens.parse(text)
    return exc.value.reason == "malformed"


@pytest.mark.parametrize("level", LEVELS)
def test_parser_accepts_what_mint_writes(level):
    parsed = tokens.parse(TOKENS[level])
    assert parsed.level == level
    assert (parsed.signature is not None) == (level == "quantum")
    tokens.check_mac(parsed)


def test_parser_refuses_the_issues_appended_signature_on_a_standard_token():
    """A standard-level token with `.` and 4,412 base64url characters appended (the
    length of an ML-DSA-65 signature) validated."""
    assert malformed(TOKENS["standard"] + "." + "A" * tokens.SIG_CHARS)
    assert malformed(TOKENS["standard"] + "." + "A" * 4000)


@pytest.mark.parametrize("level", ["standard", "high", "critical"])
def test_parser_refuses_a_signature_below_the_quantum_level(level):
    signature = TOKENS["quantum"].rsplit(".", 1)[1]
    assert malformed(f"{TOKENS[level]}.{signature}")


def test_parser_refuses_a_quantum_token_without_its_signature():
    assert malformed(TOKENS["quantum"].rsplit(".", 1)[0])


@pytest.mark.parametrize(
    "field,value",
    [
        (1, "07"),  # leading zero in the tenant
        (3, "02"),  # generation
        (4, "03"),  # key version
        (4, "0"),  # key versions start at 1
        (6, "01700000000000"),  # issued ms
        (7, "01700003600"),  # expires
        (2, "AB" * 16),  # session ids are lowercase hex
        (2, "ab" * 15),  # 30 hex digits
        (5, "S"),  # level code
        (5, "x"),
    ],
)
def test_parser_refuses_non_canonical_fields(field, value):
    parts = TOKENS["standard"].split(".")
    parts[field] = value
    assert malformed(".".join(parts))


@pytest.mark.parametrize("field", [8, 9])
def test_parser_refuses_base64_with_padding_or_spare_bits(field):
    """The secret (16 bytes in 22 characters) and the MAC (32 bytes in 43) leave spare
    bits in their last character: a second spelling of the same bytes is refused."""
    parts = TOKENS["standard"].split(".")
    raw = base64.urlsafe_b64decode(parts[field] + "==")
    assert base64.urlsafe_b64encode(raw).decode().rstrip("=") == parts[field]
    last = parts[field][-1]
    spare = B64URL[B64URL.index(last) + 1] if last != "_" else "-"
    respelled = parts[field][:-1] + spare
    assert base64.urlsafe_b64decode(respelled + "==") == raw or field == 9
    for variant in (respelled, parts[field] + "=", parts[field] + "==",
                    parts[field].replace("-", "+").replace("_", "/") + "+"):  # fmt: skip
        candidate = parts.copy()
        candidate[field] = variant
        assert malformed(".".join(candidate))


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=60, deadline=None)
@given(suffix=st.text(alphabet=B64URL + ".=+/ \n\t\x00", min_size=1, max_size=80))
@example(suffix="." + "A" * tokens.SIG_CHARS)
@example(suffix="." + "A" * 4000)
@example(suffix="\n")
def test_parser_refuses_anything_appended(level, suffix):
    assert malformed(TOKENS[level] + suffix)


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_parser_refuses_every_truncation(level, data):
    token = TOKENS[level]
    cut = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    assert malformed(token[:cut])
    start = data.draw(st.integers(min_value=1, max_value=len(token) - 1))
    assert malformed(token[start:])


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_parser_refuses_reencoded_tokens(level, data):
    """Other spellings of a real token: case changed, standard base64 alphabet,
    padding, separators doubled or replaced, whitespace, percent-encoding, non-ASCII
    digits. Each is either malformed or, being a well-formed token with other bytes,
    fails the MAC; it never parses to the same fields with a valid MAC."""
    token = TOKENS[level]
    transforms = {
        "upper": str.upper,
        "std_alphabet": lambda t: t.replace("-", "+").replace("_", "/"),
        "padding": lambda t: t + "==",
        "double_dot": lambda t: t.replace(".", "..", 1),
        "colon": lambda t: t.replace(".", ":", 1),
        "space": lambda t: " " + t,
        "percent": lambda t: t.replace(".", "%2E", 1),
        "arabic_digit": lambda t: t.replace("7", "\u0667", 1),
        "fullwidth_dot": lambda t: t.replace(".", "\uff0e", 1),
        "b64_of_token": lambda t: base64.urlsafe_b64encode(t.encode()).decode(),
    }
    name = data.draw(st.sampled_from(sorted(transforms)))
    changed = transforms[name](token)
    if changed == token:
        return
    try:
        parsed = tokens.parse(changed)
    except TokenError as exc:
        assert exc.reason == "malformed"
        return
    with pytest.raises(TokenError) as exc:
        tokens.check_mac(parsed)
    assert exc.value.reason == "bad_signature"


@given(st.one_of(st.text(max_size=5000), st.binary(max_size=200), st.none(), st.integers()))
@settings(max_examples=200, deadline=None)
def test_parser_on_arbitrary_input_only_refuses_as_malformed(value):
    try:
        tokens.parse(value)
    except TokenError as exc:
        assert exc.reason == "malformed"


def test_parser_length_bounds_per_level():
    longest = mint(
        "critical", tenant_id=10**12 - 1, generation=10**9 - 1, key_version=10**6 - 1,
        issued_at=10**13 - 1, expires_at=10**12 - 1,
    )  # fmt: skip
    assert len(longest) <= tokens.MAX_LENGTH_UNSIGNED
    tokens.parse(longest)
    quantum = TOKENS["quantum"]
    assert len(quantum) <= tokens.MAX_LENGTH
    assert malformed("x" * (tokens.MAX_LENGTH + 1))


# --- through validation: a tampered signature on a cached quantum session ---------------------


@pytest.mark.django_db
def test_validate_refuses_a_quantum_token_with_another_signature(
    make_session, alpha_owner_mfa, view
):
    """The signature is not under the MAC: a process that already knows the session
    must still refuse the token with its signature altered."""
    _s, token = make_session(security_level="quantum", mfa_code=alpha_owner_mfa.backup())
    validate(token)  # the session is now cached in this process
    body, signature = token.rsplit(".", 1)
    flipped = "B" if signature[100] != "B" else "C"
    tampered = f"{body}.{signature[:100]}{flipped}{signature[101:]}"
    with pytest.raises(TokenError) as exc:
        validate(tampered)
    assert exc.value.reason == "bad_signature"
    validate(token)  # the real one still works


@pytest.mark.django_db
def test_validate_fuzz_quantum_mutations_never_validate(make_session, alpha_owner_mfa, view):
    _s, token = make_session(security_level="quantum", mfa_code=alpha_owner_mfa.backup())
    validate(token)

    @settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture],
              deadline=None)  # fmt: skip
    @given(st.integers(min_value=0, max_value=len(token) - 1), st.sampled_from(list(B64URL)))
    def check(position, char):
        mutated = token[:position] + char + token[position + 1 :]
        if mutated == token:
            return
        with pytest.raises(TokenError):
            validate(mutated)

    check()
