"""SM4 modes through gm.sm4: round trips and every refusal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gm import sm4
from gm.errors import DecryptionError

KEY = bytes(range(16))


def test_gcm_round_trip_with_associated_data() -> None:
    sealed = sm4.gcm_seal(KEY, b"container key", b"header")
    assert len(sealed) == 12 + 13 + 16
    assert sm4.gcm_open(KEY, sealed, b"header") == b"container key"


def test_gcm_nonces_are_fresh() -> None:
    assert sm4.gcm_seal(KEY, b"x")[:12] != sm4.gcm_seal(KEY, b"x")[:12]


@pytest.mark.parametrize("index", [0, 12, -1])
def test_gcm_tampering_is_refused(index: int) -> None:
    sealed = bytearray(sm4.gcm_seal(KEY, b"payload", b"aad"))
    sealed[index] ^= 1
    with pytest.raises(DecryptionError):
        sm4.gcm_open(KEY, bytes(sealed), b"aad")


def test_gcm_wrong_key_aad_or_short_input_is_refused() -> None:
    sealed = sm4.gcm_seal(KEY, b"payload", b"aad")
    with pytest.raises(DecryptionError):
        sm4.gcm_open(bytes(16), sealed, b"aad")
    with pytest.raises(DecryptionError):
        sm4.gcm_open(KEY, sealed, b"other")
    with pytest.raises(DecryptionError):
        sm4.gcm_open(KEY, sealed[:20])


def test_cbc_round_trip_and_bad_padding() -> None:
    iv = bytes(16)
    ct = sm4.cbc_encrypt(KEY, iv, b"sixteen bytes!!!")
    assert len(ct) == 32  # a full padding block
    assert sm4.cbc_decrypt(KEY, iv, ct) == b"sixteen bytes!!!"
    with pytest.raises(DecryptionError):
        sm4.cbc_decrypt(bytes(16), iv, ct)
    with pytest.raises(DecryptionError):
        sm4.cbc_decrypt(KEY, iv, ct[:-1])


def test_key_and_block_sizes_are_checked() -> None:
    with pytest.raises(ValueError):
        sm4.ecb_encrypt(bytes(15), bytes(16))
    with pytest.raises(ValueError):
        sm4.ecb_encrypt(KEY, bytes(15))
    with pytest.raises(DecryptionError):
        sm4.ecb_decrypt(KEY, bytes(17))
    with pytest.raises(ValueError):
        sm4.gcm_seal(KEY, b"x", nonce=bytes(8))


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=512), aad=st.binary(max_size=64))
def test_gcm_property(data: bytes, aad: bytes) -> None:
    assert sm4.gcm_open(KEY, sm4.gcm_seal(KEY, data, aad), aad) == data
