"""A virtual smart card for the vpcd reader of vsmartcard: an ISO 7816 PIN applet over TCP.

vpcd protocol: every message has a 2-byte big-endian length; 1-byte messages are control
(0 power off, 1 power on, 2 reset, 4 send the ATR), longer ones are APDUs answered with data+SW.
Inserting the card = connecting to the reader's port; removing it = closing the socket.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Callable, Optional

AID = bytes.fromhex("F0434552544153534953")  # proprietary AID "F0" + "CERTASSIS"
HISTORICAL = b"CATEST01"
PIN_REF, PUK_REF = 0x81, 0x82
PAD_LENGTH, PAD_BYTE = 20, 0xFF


def make_atr(historical: bytes = HISTORICAL) -> bytes:
    """TS=3B, T0 announces TD1 and the historical bytes, TD1/TD2 select T=1, TCK closes."""
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return bytes([0x3B]) + body + bytes([tck])


ATR = make_atr()
PROFILE = {
    "version": 1,
    "profiles": [
        {
            "id": "certassist-virtual-card",
            "vendor": "CertAssist virtual card",
            "match": {"manufacturer": [], "atr": [ATR.hex(" ")]},
            "modules": {},
            "sm2": None,
            "iso7816": {
                "aid": AID.hex(),
                "pin_ref": hex(PIN_REF),
                "puk_ref": hex(PUK_REF),
                "pad_length": PAD_LENGTH,
                "pad_byte": hex(PAD_BYTE),
                "max_retries": 10,
            },
        }
    ],
}


class PinApplet:
    """ISO 7816-4 VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER with retry counters."""

    def __init__(self, pin: str, puk: str, max_retries: int = 10) -> None:
        self.secrets = {PIN_REF: self._pad(pin), PUK_REF: self._pad(puk)}
        self.max_retries = max_retries
        self.remaining = {PIN_REF: max_retries, PUK_REF: max_retries}
        self.selected = False
        self.verified = False

    @staticmethod
    def _pad(value: str) -> bytes:
        raw = value.encode()
        return raw + bytes([PAD_BYTE]) * (PAD_LENGTH - len(raw))

    def _check(self, ref: int, candidate: bytes) -> Optional[bytes]:
        """None if right; else the status word to send (a try is spent)."""
        if self.remaining[ref] == 0:
            return b"\x69\x83"
        if candidate != self.secrets[ref]:
            self.remaining[ref] -= 1
            return b"\x69\x83" if self.remaining[ref] == 0 else bytes([0x63, 0xC0 | self.remaining[ref]])
        self.remaining[ref] = self.max_retries
        return None

    def process(self, apdu: bytes) -> bytes:
        _cla, ins, p1, p2 = apdu[:4]
        data = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if ins == 0xA4:
            self.selected = data == AID
            self.verified = False
            return b"\x90\x00" if self.selected else b"\x6a\x82"
        if not self.selected:
            return b"\x69\x85"
        if ins == 0x20 and p2 in self.secrets:
            if not data:
                if self.remaining[p2] == 0:
                    return b"\x69\x83"
                if p2 == PIN_REF and self.verified:
                    return b"\x90\x00"
                return bytes([0x63, 0xC0 | self.remaining[p2]])
            if len(data) != PAD_LENGTH:
                return b"\x67\x00"
            status = self._check(p2, data)
            self.verified = status is None and p2 == PIN_REF
            return status or b"\x90\x00"
        if ins == 0x24 and p2 in self.secrets:
            if len(data) != 2 * PAD_LENGTH:
                return b"\x67\x00"
            status = self._check(p2, data[:PAD_LENGTH])
            if status is None:
                self.secrets[p2] = data[PAD_LENGTH:]
            return status or b"\x90\x00"
        if ins == 0x2C and p1 == 0x00 and p2 == PIN_REF:
            if len(data) != 2 * PAD_LENGTH:
                return b"\x67\x00"
            status = self._check(PUK_REF, data[:PAD_LENGTH])
            if status is None:
                self.secrets[PIN_REF] = data[PAD_LENGTH:]
                self.remaining[PIN_REF] = self.max_retries
            return status or b"\x90\x00"
        return b"\x6d\x00"


class VirtualCard:
    """Insert into / remove from a vpcd reader. ``on_apdu`` may pull the card mid-command.

    While inserted, a connection that vpcd drops on its side (it re-listens after a card vanished
    mid-command) is re-established, as a card left in the reader would be seen again.
    """

    def __init__(self, applet: PinApplet, port: int = 35963, atr: bytes = ATR) -> None:
        self.applet = applet
        self.port = port
        self.atr = atr
        self.on_apdu: Optional[Callable[[bytes], bool]] = None  # return True to pull the card instead
        self._inserted = threading.Event()
        self._sock: Optional[socket.socket] = None
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None

    def insert(self) -> None:
        self._inserted.set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def remove(self) -> None:
        self._inserted.clear()
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while self._inserted.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                time.sleep(0.1)
                continue
            # vpcd talks (power on, ATR) as soon as it accepts us; silence means our connection sits in
            # the backlog of a listener vpcd is replacing after a card vanished: connect again then.
            sock.settimeout(2.0)
            with self._lock:
                if not self._inserted.is_set():
                    sock.close()
                    return
                self._sock = sock
            self._serve(sock)
            time.sleep(0.1)

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                header = self._recv(sock, 2)
                sock.settimeout(None)
                (length,) = struct.unpack(">H", header)
                message = self._recv(sock, length)
                if len(message) == 1:
                    if message[0] == 4:
                        sock.sendall(struct.pack(">H", len(self.atr)) + self.atr)
                    elif message[0] in (0, 2):
                        self.applet.selected = self.applet.verified = False
                    continue
                if self.on_apdu is not None and self.on_apdu(message):
                    self._inserted.clear()  # pulled out in the middle of the command
                    sock.close()
                    return
                reply = self.applet.process(message)
                sock.sendall(struct.pack(">H", len(reply)) + reply)
        except OSError:
            return

    @staticmethod
    def _recv(sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise OSError("vpcd closed the connection")
            data += chunk
        return data
