"""Token profiles carry typed vendor mechanisms (PKCS#11 has no standard SM2/SM3/SM4 numbers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers.model import Capability
from drivers.pkcs11.driver import CKM_ECDSA, _capabilities
from drivers.profiles import ProfileError, ProfileSet, SignatureEncoding, load_profile_file


def sansec() -> tuple:
    [profile] = [p for p in ProfileSet.load().profiles if p.id == "sansec-family"]
    assert profile.sm2 is not None
    return profile, profile.sm2


def test_vendor_sm2_and_sm3_numbers_are_typed() -> None:
    profile, sm2 = sansec()
    assert (sm2.key_type, sm2.keygen, sm2.sign_digest) == (0x80000004, 0x80008001, 0x80008104)
    assert sm2.signature_format is SignatureEncoding.DER
    assert profile.mechanisms.sm3 == 0x80009001 and profile.mechanisms.sm4() == ()


def test_a_module_offering_part_of_the_mechanisms() -> None:
    _profile, sm2 = sansec()
    everything = {sm2.keygen, sm2.sign_digest, sm2.decrypt, sm2.sign_message_default_id}
    assert sm2.available(everything) == sm2
    partial = sm2.available({sm2.keygen, sm2.sign_digest})
    assert partial is not None and partial.decrypt is None and partial.sign_message_default_id is None
    caps = _capabilities({sm2.keygen, sm2.sign_digest, CKM_ECDSA}, partial)
    assert {Capability.SM2_KEYGEN, Capability.SM2_SIGN, Capability.SM2_SIGN_DIGEST, Capability.EC_SIGN} <= caps
    assert Capability.SM2_DECRYPT not in caps and Capability.SM2_IMPORT_ENVELOPED not in caps
    assert sm2.available({sm2.sign_digest}) is None  # no key generation: no SM2 at all
    assert not {Capability.SM2_KEYGEN, Capability.SM2_SIGN} & _capabilities({sm2.sign_digest}, None)


def test_an_unknown_mechanism_name_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "vendor.json"
    path.write_text(json.dumps({"profiles": [{"id": "v", "mechanisms": {"sm4_ecb": "0x10", "sm9": "0x11"}}]}))
    with pytest.raises(ProfileError, match="sm9"):
        load_profile_file(path)
    path.write_text(json.dumps({"profiles": [{"id": "v", "mechanisms": {"sm4_ecb": "0x10", "sm4_cbc": 17}}]}))
    [profile] = load_profile_file(path)
    assert profile.mechanisms.sm4() == (0x10, 17)
