"""Pure crypto: master key provider, hybrid wrapping, the envelope parser."""

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from kms.provider import EnvMasterKeyProvider, parse_master_key
from kms.signing import signing_keys
from security_mgr import crypto
from security_mgr.exceptions import (
    CryptoError,
    DecryptionFailed,
    MalformedCiphertext,
    MasterKeyError,
)

PROVIDER = EnvMasterKeyProvider(bytes(range(32)))


def test_master_key_parsing_accepts_base64_and_refuses_other_lengths():
    key = os.urandom(32)
    assert parse_master_key(base64.b64encode(key).decode()) == key
    assert parse_master_key(base64.urlsafe_b64encode(key).decode().rstrip("=")) == key
    with pytest.raises(MasterKeyError, match="32 bytes"):
        parse_master_key(base64.b64encode(os.urandom(16)).decode())
    with pytest.raises(MasterKeyError):
        EnvMasterKeyProvider(b"short")


def test_provider_wrap_is_bound_to_key_and_associated_data():
    blob = PROVIDER.wrap(b"secret", b"binding")
    assert b"secret" not in blob
    assert PROVIDER.unwrap(blob, b"binding") == b"secret"
    with pytest.raises(DecryptionFailed):
        PROVIDER.unwrap(blob, b"other binding")
    with pytest.raises(DecryptionFailed):
        EnvMasterKeyProvider(os.urandom(32)).unwrap(blob, b"binding")
    with pytest.raises(MalformedCiphertext):
        PROVIDER.unwrap(blob[:10], b"binding")


def test_hybrid_wrap_round_trip_and_every_tamper_is_refused():
    pair = crypto.hybrid_keypair(PROVIDER, "tenant:1")
    secret = os.urandom(32)
    blob = crypto.hybrid_wrap(pair, secret, b"aad")
    assert len(blob) == crypto.MLKEM768_CT + crypto.X25519_PUB + crypto.NONCE + 32 + crypto.TAG
    assert crypto.hybrid_unwrap(pair, blob, b"aad") == secret
    # Each part matters: the ML-KEM ciphertext, the X25519 share, nonce, sealed key.
    for offset in (0, crypto.MLKEM768_CT + 1, crypto.MLKEM768_CT + 33, len(blob) - 1):
        bad = bytearray(blob)
        bad[offset] ^= 1
        with pytest.raises(CryptoError):
            crypto.hybrid_unwrap(pair, bytes(bad), b"aad")
    with pytest.raises(DecryptionFailed):
        crypto.hybrid_unwrap(pair, blob, b"other")
    with pytest.raises(DecryptionFailed):  # another tenant's key pair
        crypto.hybrid_unwrap(crypto.hybrid_keypair(PROVIDER, "tenant:2"), blob, b"aad")
    with pytest.raises(MalformedCiphertext):
        crypto.hybrid_unwrap(pair, blob[:100], b"aad")


def test_hybrid_key_pair_is_derived_from_the_master_key():
    a = crypto.hybrid_keypair(PROVIDER, "tenant:1").public_bytes()
    assert (
        a
        == crypto.hybrid_keypair(EnvMasterKeyProvider(bytes(range(32))), "tenant:1").public_bytes()
    )
    assert a != crypto.hybrid_keypair(PROVIDER, "tenant:2").public_bytes()
    assert len(a[0]) == 32 and len(a[1]) == 1184  # X25519, ML-KEM-768 encapsulation key


def test_signing_keys_sign_with_both_algorithms():
    keys = signing_keys(PROVIDER)
    sig_ed, sig_ml = keys.sign(b"head")
    assert keys.verify(b"head", sig_ed, sig_ml)
    assert not keys.verify(b"head!", sig_ed, sig_ml)
    assert not keys.verify(b"head", sig_ed, sig_ml[:-1] + bytes([sig_ml[-1] ^ 1]))
    assert set(keys.public()) == {"key_id", "ed25519", "ml_dsa_65"}


AEAD = AESGCM(bytes(32))


@given(version=st.integers(1, 10**9 - 1), plaintext=st.binary(max_size=200))
def test_envelope_round_trip(version, plaintext):
    text = crypto.seal(AEAD, version, plaintext, b"aad")
    envelope = crypto.parse_envelope(text)
    assert envelope.version == version
    assert envelope.dumps() == text
    assert crypto.open_sealed(AEAD, envelope, b"aad") == plaintext


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.integers(), st.none()))
def test_envelope_parser_only_ever_raises_malformed(junk):
    try:
        envelope = crypto.parse_envelope(junk)
    except MalformedCiphertext:
        return
    # Whatever parses must still fail authentication, never yield plaintext.
    with pytest.raises(DecryptionFailed):
        crypto.open_sealed(AEAD, envelope, b"aad")


@settings(max_examples=200)
@given(position=st.integers(0, 10_000), replacement=st.characters(codec="ascii"))
def test_any_edit_of_a_ciphertext_is_refused(position, replacement):
    text = crypto.seal(AEAD, 3, b"attack at dawn", b"aad")
    position %= len(text)
    edited = text[:position] + replacement + text[position + 1 :]
    if edited == text:
        return
    try:
        envelope = crypto.parse_envelope(edited)
    except MalformedCiphertext:
        return
    if envelope.version != 3:
        return  # a different version number: the key ring refuses or picks another key
    with pytest.raises(DecryptionFailed):
        crypto.open_sealed(AEAD, envelope, b"aad")


def test_envelope_parser_names_the_reason():
    good = crypto.seal(AEAD, 1, b"x", b"aad")
    cases = {
        "vault:v1:abc": "envelope",
        "dim:v0:" + good.split(":", 2)[2]: "envelope",  # version 0 does not exist
        "dim:v01:" + good.split(":", 2)[2]: "envelope",  # no leading zeros
        "dim:v1:AAAA": "too short",
        "dim:v1:" + good.split(":", 2)[2] + "=": "envelope",
        "dim:v1:A": "base64",
    }
    for text, reason in cases.items():
        with pytest.raises(MalformedCiphertext, match=reason):
            crypto.parse_envelope(text)


def test_associated_data_is_unambiguous():
    a = crypto.associated_data(1, "app.model", "field", "12")
    b = crypto.associated_data(11, "app.model", "field", "2")
    c = crypto.associated_data(1, "app.mode", "lfield", "12")
    assert len({a, b, c}) == 3


# --- the binary envelope (what encrypted columns store) --------------------------------


@given(version=st.integers(1, crypto.MAX_VERSION), plaintext=st.binary(max_size=200))
def test_binary_envelope_round_trip_and_text_conversion(version, plaintext):
    data = crypto.seal_binary(AEAD, version, plaintext, b"aad")
    assert data[:4] == b"DIM\x01" and int.from_bytes(data[4:8], "big") == version
    assert len(data) == crypto.HEADER + len(plaintext) + crypto.TAG
    assert crypto.split_envelope(data)[0] == version
    text = crypto.to_text(data)
    # Both forms carry the same version, nonce and ciphertext: conversion needs no key.
    assert crypto.to_binary(text) == data and crypto.to_text(crypto.to_binary(text)) == text
    assert crypto.parse_envelope(text) == crypto.parse_envelope(data)
    assert crypto.parse_envelope(memoryview(data)) == crypto.parse_envelope(bytearray(data))
    assert crypto.open_sealed(AEAD, crypto.parse_envelope(text), b"aad") == plaintext


@settings(max_examples=500)
@given(
    st.one_of(
        st.binary(max_size=120),
        st.binary(max_size=120).map(lambda b: b"DIM\x01" + b),  # past the magic
        st.binary(min_size=16, max_size=120).map(lambda b: b"DIM\x01\x00\x00\x00\x01" + b),
    )
)
def test_binary_parser_only_ever_raises_malformed_and_never_yields_plaintext(junk):
    try:
        version, nonce, sealed = crypto.split_envelope(junk)
    except MalformedCiphertext:
        return
    assert 1 <= version <= crypto.MAX_VERSION and len(nonce) == crypto.NONCE
    with pytest.raises(DecryptionFailed):
        crypto.open_sealed(AEAD, crypto.Envelope(version, nonce, sealed), b"aad")


@settings(max_examples=200)
@given(position=st.integers(0, 10_000), flip=st.integers(1, 255))
def test_any_edit_of_a_binary_ciphertext_is_refused(position, flip):
    data = bytearray(crypto.seal_binary(AEAD, 3, b"attack at dawn", b"aad"))
    data[position % len(data)] ^= flip
    try:
        version, nonce, sealed = crypto.split_envelope(bytes(data))
    except MalformedCiphertext:
        return
    if version != 3:
        return  # a different version number: the key ring refuses or picks another key
    with pytest.raises(DecryptionFailed):
        crypto.open_sealed(AEAD, crypto.Envelope(version, nonce, sealed), b"aad")


def test_binary_parser_names_the_reason():
    good = crypto.seal_binary(AEAD, 1, b"x", b"aad")
    cases = {
        b"": "wrong magic",
        b"XIM\x01" + good[4:]: "wrong magic",
        b"DIM\x02" + good[4:]: "unknown envelope format 2",
        b"DIM\x01\x00\x00\x00\x00" + good[8:]: "version 0",
        b"DIM\x01\xff\xff\xff\xff" + good[8:]: "above the maximum",
        good[:10]: "too short",
        good[: crypto.MIN_BINARY - 1]: "too short to hold a nonce and a tag",
        b"dim:v1:" + "é".encode(): "not ASCII",
    }
    for data, reason in cases.items():
        with pytest.raises(MalformedCiphertext, match=reason):
            crypto.split_envelope(data)
    with pytest.raises(MalformedCiphertext, match="bytes or a string"):
        crypto.split_envelope(12)
    # A text envelope in a bytes value (a legacy row of a text column) is understood.
    text = crypto.to_text(good)
    assert crypto.split_envelope(text.encode()) == crypto.split_envelope(good)
