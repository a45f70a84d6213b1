"""A session on a PKCS#11 token: a view on the device's one PKCS#11 session (python-pkcs11).

Known python-pkcs11 pitfalls handled here:
- a failed ``C_Login`` inside ``Token.open`` leaks the just-opened session: after a failed login the
  module is re-initialised (closing the leak) and every session of that module reopens lazily;
- ``Token`` objects cache their flags: PIN state is always read from a freshly fetched token.
SM2 uses the vendor mechanisms of the token's profile that its module offers (``TokenState.sm2``).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import string
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Protocol, Tuple

import pkcs11.exceptions as p11e
from asn1crypto import algos, core, keys
from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11.util.ec import encode_named_curve_parameters

from drivers.base import (
    CertificateInput,
    KeyDevice,
    KeySession,
    as_certificate,
    check_new_pin,
    check_pin_format,
    serialized,
)
from drivers.errors import AlreadyExists, KeyMismatch, NotFound, NotLoggedIn, NotSupported, PinLocked
from drivers.model import Capability, ContainerInfo, KeyAlgorithm, KeyUsage, PinInfo
from drivers.pkcs11 import pins
from drivers.pkcs11.errors import map_error
from drivers.profiles import SignatureEncoding, Sm2Mechanisms
from gm.curve import DEFAULT_SIGNER_ID
from gm.sm2_codec import signature_to_der

if TYPE_CHECKING:
    from gm.x509 import Certificate

CKK_EC = 0x3
APPLICATION = "CertAssist"
ADMIN_ALPHABET = string.ascii_letters + string.digits


def token_text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().strip("\x00")


def _object_id(container: str, usage: KeyUsage) -> bytes:
    return f"{container}/{usage.value}".encode()


class TokenState(Protocol):
    """What a session reads and updates on its device (drivers.pkcs11.driver.Pkcs11Device): the one shared
    PKCS#11 session, the login state and the module's generation. Guarded by the device's op_lock."""

    module: Any
    sm2: Optional[Sm2Mechanisms]
    shared: Any
    user_logged_in: bool
    generation: int
    views: int

    def token(self) -> Any: ...


class Pkcs11Session(KeySession):
    """A view on the device's one PKCS#11 session.

    PKCS#11 login state belongs to the application and token, not to a session: every view of a device
    shares one logged-in state, and a login through any view replaces it.
    """

    def __init__(self, device: KeyDevice, state: TokenState) -> None:
        super().__init__(device)
        self._dev = state
        self._closed = False
        with device.op_lock:
            state.views += 1

    # -- plumbing (all state lives on the device) ------------------------------------------
    def _map(self, exc: Exception, admin: bool = False) -> Exception:
        retries: Optional[int] = None
        with contextlib.suppress(Exception):
            flags = self._dev.token().flags
            final = TokenFlag.SO_PIN_FINAL_TRY if admin else TokenFlag.USER_PIN_FINAL_TRY
            locked = TokenFlag.SO_PIN_LOCKED if admin else TokenFlag.USER_PIN_LOCKED
            if flags & locked:
                return PinLocked("CKR_PIN_INCORRECT+LOCKED", admin=admin)
            if flags & final:
                retries = 1
        return map_error(exc, admin, self.policy, retries)

    def _open_raw(self, user_pin: Optional[str] = None, so_pin: Optional[str] = None) -> Any:
        try:
            return self._dev.token().open(rw=True, user_pin=user_pin, so_pin=so_pin)
        except p11e.PKCS11Error as exc:
            if user_pin is not None or so_pin is not None:
                # The failed C_Login leaked a session inside python-pkcs11: close it the only way possible.
                mapped = self._map(exc, admin=so_pin is not None)
                self._dev.module.reinitialize()
                raise mapped from exc
            raise self._map(exc) from exc

    def _drop_shared(self) -> None:
        dev = self._dev
        if dev.shared is not None and dev.generation == dev.module.generation:
            with contextlib.suppress(Exception):
                dev.shared.close()
        dev.shared, dev.user_logged_in = None, False

    def _reopen(self, pin: Optional[str]) -> None:
        dev = self._dev
        self._drop_shared()
        dev.shared = self._open_raw(user_pin=pin)
        dev.user_logged_in = pin is not None
        dev.generation = dev.module.generation

    def _live(self) -> Any:
        """The device's pkcs11 session; reopened (logged out) if the module was re-initialised meanwhile."""
        if self._closed:
            raise ValueError("this session is closed")
        dev = self._dev
        if dev.shared is None or dev.generation != dev.module.generation:
            self._reopen(None)
        return dev.shared

    def _need_login(self) -> Any:
        session = self._live()
        if not self._dev.user_logged_in:
            raise NotLoggedIn("CKR_USER_NOT_LOGGED_IN")
        return session

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except p11e.PKCS11Error as exc:
            raise self._map(exc) from exc

    @contextlib.contextmanager
    def _as_so(self, so_pin: str) -> Iterator[Any]:
        """A short SO session. The user is logged out first: PKCS#11 allows one role at a time."""
        self._drop_shared()
        generation = self._dev.module.generation
        session = self._open_raw(so_pin=so_pin)
        try:
            yield session
        except p11e.PKCS11Error as exc:
            raise self._map(exc, admin=True) from exc
        finally:
            if self._dev.module.generation == generation:
                with contextlib.suppress(Exception):
                    session.close()

    # -- lifecycle and PINs ----------------------------------------------------------------
    @serialized
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._dev.views -= 1
        if self._dev.views <= 0:
            self._drop_shared()

    @property
    def logged_in(self) -> bool:
        dev = self._dev
        return dev.user_logged_in and dev.generation == dev.module.generation and dev.shared is not None

    @serialized
    def pin_info(self, admin: bool = False) -> PinInfo:
        flags = self._dev.token().flags
        if admin:
            low, final, locked = TokenFlag.SO_PIN_COUNT_LOW, TokenFlag.SO_PIN_FINAL_TRY, TokenFlag.SO_PIN_LOCKED
        else:
            low, final, locked = TokenFlag.USER_PIN_COUNT_LOW, TokenFlag.USER_PIN_FINAL_TRY, TokenFlag.USER_PIN_LOCKED
        is_locked = bool(flags & locked)
        remaining = 0 if is_locked else (1 if flags & final else None)
        return PinInfo(max_retries=None, remaining=remaining, locked=is_locked, low=bool(flags & (low | final)))

    @serialized
    def login(self, pin: str) -> None:
        check_pin_format(pin, self.policy)
        try:
            self._reopen(pin)
        except BaseException:
            self._reopen(None)
            raise

    @serialized
    def logout(self) -> None:
        self._reopen(None)

    @serialized
    def change_pin(self, old_pin: str, new_pin: str) -> None:
        """C_SetPIN checks the old PIN itself (also in a public R/W session): no login, no leak."""
        check_pin_format(old_pin, self.policy)
        check_new_pin(new_pin, None, self.policy)
        with self._guard():
            pins.set_pin(self._live(), self._dev.module.path, old_pin, new_pin)

    @serialized
    def unblock_pin(self, admin_credential: str, new_pin: str) -> None:
        check_new_pin(new_pin, None, self.policy)
        with self._as_so(admin_credential) as session:
            pins.init_pin(session, self._dev.module.path, new_pin)

    @serialized
    def rotate_admin_credential(self, current: Optional[str] = None, new: Optional[str] = None) -> str:
        if not current:
            raise ValueError("the current SO PIN is needed to replace it")
        new = new or "".join(secrets.choice(ADMIN_ALPHABET) for _ in range(16))
        with self._as_so(current) as session:
            pins.set_pin(session, self._dev.module.path, current, new)
        return new

    # -- objects ---------------------------------------------------------------------------
    def _find(self, session: Any, **attrs: Any) -> List[Any]:
        """Objects matching ``attrs`` (python-pkcs11 attribute names in lower case; ``kind`` is CKA_CLASS)."""
        template = {Attribute.CLASS if k == "kind" else getattr(Attribute, k.upper()): v for k, v in attrs.items()}
        with self._guard():
            return list(session.get_objects(template))

    def _key(self, container: str, usage: KeyUsage, private: bool) -> Any:
        session = self._need_login() if private else self._live()
        cls = ObjectClass.PRIVATE_KEY if private else ObjectClass.PUBLIC_KEY
        found = self._find(session, kind=cls, id=_object_id(container, usage))
        if not found:
            raise NotFound(f"container {container!r} has no {usage.value} key on this token")
        return found[0]

    @serialized
    def containers(self) -> List[ContainerInfo]:
        session = self._live()
        names: Dict[str, Dict[str, bool]] = {}
        for obj in self._find(session, kind=ObjectClass.DATA, application=APPLICATION):
            names.setdefault(token_text(obj[Attribute.LABEL]), {})
        for cls, kind in ((ObjectClass.PUBLIC_KEY, "key"), (ObjectClass.CERTIFICATE, "cert")):
            for obj in self._find(session, kind=cls):
                ident = bytes(obj[Attribute.ID]).decode("utf-8", "replace")
                name, _, usage = ident.rpartition("/")
                if name and usage in ("sign", "encrypt"):
                    names.setdefault(name, {})[f"{usage}_{kind}"] = True
        return [
            ContainerInfo(
                name=n,
                has_sign_key=f.get("sign_key", False),
                has_encrypt_key=f.get("encrypt_key", False),
                has_sign_certificate=f.get("sign_cert", False),
                has_encrypt_certificate=f.get("encrypt_cert", False),
            )
            for n, f in sorted(names.items())
        ]

    @serialized
    def create_container(self, name: str) -> None:
        session = self._live()
        if self._find(session, kind=ObjectClass.DATA, application=APPLICATION, label=name):
            raise AlreadyExists(f"container {name!r} already exists")
        with self._guard():
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.DATA,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.APPLICATION: APPLICATION,
                    Attribute.LABEL: name,
                    Attribute.VALUE: b"container",
                }
            )

    @serialized
    def delete_container(self, name: str) -> None:
        session = self._need_login()
        victims = self._find(session, label=name)
        if not victims:
            raise NotFound(f"no container {name!r}")
        with self._guard():
            for obj in victims:
                obj.destroy()

    @serialized
    def generate_key(self, container: str, algorithm: KeyAlgorithm = KeyAlgorithm.SM2) -> bytes:
        session = self._need_login()
        final_id = _object_id(container, KeyUsage.SIGN)
        staging_id = final_id + b".new"
        for obj in self._find(session, id=staging_id):  # left by an interrupted earlier attempt
            obj.destroy()
        with self._guard():
            if algorithm is KeyAlgorithm.EC_P256:
                if Capability.EC_KEYGEN not in self.device.info.capabilities:
                    raise NotSupported("EC key generation")
                params = session.create_domain_parameters(
                    KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
                )
                public, private = params.generate_keypair(store=True, label=container, id=staging_id)
            else:
                if Capability.SM2_KEYGEN not in self.device.info.capabilities:
                    raise NotSupported("SM2 key generation (no SM2 mechanism in this token's module)")
                public, private = self._generate_sm2(session, container, staging_id)
            # New pair stored: only now drop the old pair and its certificate, then take the final ID.
            for obj in self._find(session, id=final_id):
                if obj[Attribute.CLASS] != ObjectClass.DATA:
                    obj.destroy()
            public[Attribute.ID] = final_id
            private[Attribute.ID] = final_id
            return self._spki(public)

    def _sm2(self) -> Sm2Mechanisms:
        sm2 = self._dev.sm2
        if sm2 is None:
            raise NotSupported("SM2 (no SM2 mechanism in this token's module)")
        return sm2

    def _generate_sm2(self, session: Any, container: str, staging_id: bytes) -> Tuple[Any, Any]:
        sm2 = self._sm2()
        try:
            return session.generate_keypair(  # type: ignore[no-any-return]
                sm2.key_type,
                store=True,
                label=container,
                id=staging_id,
                mechanism=sm2.keygen,
            )
        except (TypeError, ValueError) as exc:
            raise NotSupported(f"SM2 key generation with vendor mechanism 0x{sm2.keygen:08X} ({exc})") from exc

    @staticmethod
    def _spki(public: Any) -> bytes:
        point = core.OctetString.load(bytes(public[Attribute.EC_POINT])).native
        params = keys.ECDomainParameters.load(bytes(public[Attribute.EC_PARAMS]))
        info = keys.PublicKeyInfo({"algorithm": {"algorithm": "ec", "parameters": params}, "public_key": point})
        return bytes(info.dump())

    @serialized
    def public_key_der(self, container: str, usage: KeyUsage = KeyUsage.SIGN) -> bytes:
        with self._guard():
            return self._spki(self._key(container, usage, private=False))

    def _key_type(self, key: Any) -> int:
        with self._guard():
            return int(key[Attribute.KEY_TYPE])

    def _to_der(self, signature: bytes, sm2: bool) -> bytes:
        if sm2 and self._sm2().signature_format is SignatureEncoding.DER:
            return signature
        if sm2:
            return signature_to_der(signature)
        return bytes(algos.DSASignature.from_p1363(signature).dump())

    @serialized
    def sign(self, container: str, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        key = self._key(container, KeyUsage.SIGN, private=True)
        if self._key_type(key) == CKK_EC:  # generic EC: ECDSA with SHA-256, hashed here (CKM_ECDSA is raw)
            with self._guard():
                raw = key.sign(hashlib.sha256(message).digest(), mechanism=Mechanism.ECDSA)
            return self._to_der(raw, sm2=False)
        default_id_mechanism = self._sm2().sign_message_default_id
        if signer_id == DEFAULT_SIGNER_ID and default_id_mechanism is not None:
            with self._guard():
                return self._to_der(key.sign(message, mechanism=default_id_mechanism), sm2=True)
        from gm.sm2 import SM2PublicKey  # here: listing tokens loads no SM2 library

        public = SM2PublicKey.from_der(self._spki(self._key(container, KeyUsage.SIGN, private=False)))
        return self._sign_sm2_digest(key, public.message_digest(message, signer_id))

    def _sign_sm2_digest(self, key: Any, digest: bytes) -> bytes:
        mechanism = self._sm2().sign_digest
        if mechanism is None:
            raise NotSupported("SM2 signing of a digest")
        with self._guard():
            return self._to_der(key.sign(digest, mechanism=mechanism), sm2=True)

    @serialized
    def sign_digest(self, container: str, digest: bytes) -> bytes:
        key = self._key(container, KeyUsage.SIGN, private=True)
        if self._key_type(key) == CKK_EC:
            with self._guard():
                return self._to_der(key.sign(digest, mechanism=Mechanism.ECDSA), sm2=False)
        return self._sign_sm2_digest(key, digest)

    @serialized
    def decrypt(self, container: str, ciphertext: bytes) -> bytes:
        mechanism = self._sm2().decrypt
        if mechanism is None:
            raise NotSupported("SM2 decryption")
        key = self._key(container, KeyUsage.ENCRYPT, private=True)
        with self._guard():
            return bytes(key.decrypt(ciphertext, mechanism=mechanism))

    # -- certificates ----------------------------------------------------------------------
    @serialized
    def write_certificate(self, container: str, usage: KeyUsage, certificate: CertificateInput) -> None:
        session = self._need_login()
        cert = as_certificate(certificate)
        spki = cert.asn1["tbs_certificate"]["subject_public_key_info"].dump()
        if spki != self.public_key_der(container, usage):
            raise KeyMismatch(f"this certificate is not for the {usage.value} key of {container!r}")
        with self._guard():
            for old in self._find(session, kind=ObjectClass.CERTIFICATE, id=_object_id(container, usage)):
                old.destroy()
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: False,
                    Attribute.LABEL: container,
                    Attribute.ID: _object_id(container, usage),
                    Attribute.SUBJECT: cert.subject.dump(),
                    Attribute.ISSUER: cert.issuer.dump(),
                    Attribute.SERIAL_NUMBER: cert.asn1["tbs_certificate"]["serial_number"].dump(),
                    Attribute.VALUE: cert.to_der(),
                }
            )

    @serialized
    def read_certificate(self, container: str, usage: KeyUsage) -> Optional[Certificate]:
        found = self._find(self._live(), kind=ObjectClass.CERTIFICATE, id=_object_id(container, usage))
        if not found:
            return None
        from gm.x509 import Certificate

        with self._guard():
            return Certificate.from_der(bytes(found[0][Attribute.VALUE]))

    @serialized
    def delete_certificate(self, container: str, usage: KeyUsage) -> None:
        session = self._need_login()
        with self._guard():
            for obj in self._find(session, kind=ObjectClass.CERTIFICATE, id=_object_id(container, usage)):
                obj.destroy()
