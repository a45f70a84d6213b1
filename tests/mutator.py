"""A seeded structure-aware mutator for DER (and flat binary blobs), for the parser fuzz tests.

Seeds are parsed into a tree of TLVs (constructed types, and OCTET/BIT STRINGs whose contents are DER
themselves, such as extension values, keys inside PKCS#8 and signatures inside certificates). A mutation
changes one node (tag, length, content, nesting, order) and re-encodes the tree with correct lengths,
so the damage reaches the inner parsers instead of failing the outermost length check; some mutations
then also damage the raw bytes (bit flips, truncation, length fields that no longer fit).
Everything depends only on the ``random.Random`` passed in: the same seed gives the same inputs.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple


@dataclass
class Node:
    tag: bytes
    content: bytes = b""
    children: Optional[List[Node]] = None  # constructed, or encapsulated DER inside a string
    prefix: bytes = b""  # the unused-bits octet of an encapsulating BIT STRING

    def encode(self) -> bytes:
        body = self.content if self.children is None else self.prefix + b"".join(c.encode() for c in self.children)
        return self.tag + encode_length(len(body)) + body

    def copy(self) -> Node:
        return Node(
            self.tag, self.content, None if self.children is None else [c.copy() for c in self.children], self.prefix
        )


def _body_length(node: Node) -> int:
    if node.children is None:
        return len(node.content)
    return len(node.prefix) + sum(len(child.encode()) for child in node.children)


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


def _read_tlv(data: bytes, pos: int) -> Tuple[bytes, int, int]:
    """(identifier octets, content start, content end); ValueError when it is not DER."""
    start = pos
    if pos >= len(data):
        raise ValueError("end of data")
    first = data[pos]
    pos += 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise ValueError("truncated tag")
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    tag = data[start:pos]
    if pos >= len(data):
        raise ValueError("truncated length")
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("unsupported length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated content")
    return tag, pos, pos + length


def parse(data: bytes) -> List[Node]:
    """All TLVs of ``data`` as trees; ValueError unless ``data`` is a sequence of whole TLVs."""
    nodes = []
    pos = 0
    while pos < len(data):
        tag, start, end = _read_tlv(data, pos)
        content = data[start:end]
        node = Node(tag, content)
        if tag[0] & 0x20:
            node.children = parse(content)
        elif tag[0] in (0x04, 0x03) and content:  # OCTET / BIT STRING holding DER
            inner = content[1:] if tag[0] == 0x03 else content
            if tag[0] == 0x03 and content[0] != 0:
                inner = b""
            try:
                children = parse(inner) if inner and inner[0] in (0x30, 0x31, 0x02, 0x04, 0x03, 0x06) else None
            except ValueError:
                children = None
            if children:
                node.children = children
                node.prefix = content[:1] if tag[0] == 0x03 else b""
        nodes.append(node)
        pos = end
    return nodes


def _walk(nodes: List[Node], parent: Optional[List[Node]], out: List[Tuple[Node, List[Node]]]) -> None:
    for node in nodes:
        out.append((node, nodes))
        if node.children is not None:
            _walk(node.children, nodes, out)


INTERESTING_CONTENT = [
    b"",
    b"\x00",
    b"\xff",
    b"\x80",
    b"\x00\x01",  # non-minimal INTEGER
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # negative INTEGER
    b"\x01" + b"\x00" * 200,  # huge INTEGER
    b"\x7f" + b"\xff" * 40,
    b"\xff\xfe\xfd",  # invalid UTF-8
    b"\xc3\x28",
    b"\xed\xa0\x80",  # UTF-8 surrogate
    b"a, O=Forged\\ Corp",
    "张三\u202egpj.exe".encode(),
    b"\x00\x00\x00",
    b"00000101000000Z",  # year 0000 GeneralizedTime
    b"000101000000Z",
    b"99991231235959Z",
    b"20251301000000Z",
    b"2025010100000Z",
    b"20250101000000+0800",
    b"250101000000",
    b"\x2a\x81\x1c\xcf\x55\x01\x82\x2d",  # the SM2 OID
    b"\x2a\x86\x48\xce\x3d\x02\x01",  # id-ecPublicKey
    b"\x2a\x86\x48\xce\x3d\x03\x01\x07",  # P-256
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01",  # rsaEncryption
    b"\x2a\x86\x48\x86\xf7\x0d\x01\x03\x01",  # dhKeyAgreement
    b"\x2a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",  # OID with a huge arc
    b"\x2a\x86",  # OID cut in an arc
    b"\x04" + bytes(64),  # point at (0, 0)
    b"\x00\x04" + bytes(64),
]
UNIVERSAL_TAGS = [
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x0A,
    0x0C,
    0x13,
    0x14,
    0x16,
    0x17,
    0x18,
    0x1E,
    0x1C,
    0x30,
    0x31,
    0xA0,
    0xA1,
    0xA3,
    0x80,
    0x81,
    0x82,
    0x86,
    0x1F,
    0x3F,
]
BAD_LENGTHS = [
    b"\x80",
    b"\x81\x00",
    b"\x81\x7f",
    b"\x84\xff\xff\xff\xff",
    b"\x89\x01\x00\x00\x00\x00\x00\x00\x00\x00",
    b"\x88\x7f\xff\xff\xff\xff\xff\xff\xff",
    b"\x82\x00\x05",
    b"\xff",
    b"\x85\x00\x00\x00\x00\x01",
]


class Mutator:
    """Mutations of one seed. ``mutate(rng)`` returns new bytes; the seed itself is never changed."""

    def __init__(self, seed: bytes, donors: Optional[List[bytes]] = None) -> None:
        self.seed = seed
        try:
            self.tree: Optional[List[Node]] = parse(seed)
        except ValueError:
            self.tree = None  # a flat blob: byte-level mutations only
        self.donors: List[Node] = []
        for donor in donors or []:
            try:
                tree = parse(donor)
            except ValueError:
                continue
            flat: List[Tuple[Node, List[Node]]] = []
            _walk(tree, None, flat)
            self.donors.extend(n for n, _ in flat)

    # -- tree mutations ---------------------------------------------------------------------
    def _tree_mutation(self, rng: random.Random) -> bytes:
        assert self.tree is not None
        tree = [n.copy() for n in self.tree]
        ops: List[Callable[[random.Random, Node, List[Node]], None]] = [
            self._set_content,
            self._set_content,
            self._set_content,
            self._set_tag,
            self._wrap,
            self._delete,
            self._duplicate,
            self._swap,
            self._splice,
            self._deep_nest,
            self._flip_in_content,
        ]
        for _ in range(2 if rng.random() < 0.35 else 1):  # sometimes two changes at once
            flat: List[Tuple[Node, List[Node]]] = []
            _walk(tree, None, flat)
            if not flat:
                break
            node, siblings = rng.choice(flat)
            rng.choice(ops)(rng, node, siblings)
        if rng.random() < 0.25:
            self._pad_to_length(rng, tree)
        return b"".join(n.encode() for n in tree)

    @staticmethod
    def _pad_to_length(rng: random.Random, tree: List[Node]) -> None:
        """Grow a string inside some structure until that structure's length octets end in 0x80 (0x80, 0x180,
        0x280 bytes): where decoders confuse a definite length with an indefinite one."""
        paths: List[List[Node]] = []

        def collect(nodes: List[Node], ancestors: List[Node]) -> None:
            for node in nodes:
                if node.children is None and ancestors and node.tag[:1] in (b"\x04", b"\x0c", b"\x13", b"\x16"):
                    paths.append([*ancestors, node])
                elif node.children is not None:
                    collect(node.children, [*ancestors, node])

        collect(tree, [])
        if not paths:
            return
        path = rng.choice(paths)
        ancestor, leaf = rng.choice(path[:-1]), path[-1]
        target = rng.choice([0x80, 0x180, 0x280])
        for _ in range(4):  # the leaf's own length octets may grow by one: settle in a few rounds
            body = _body_length(ancestor)
            if body >= target:
                return
            leaf.content += b"A" * (target - body)

    @staticmethod
    def _set_content(rng: random.Random, node: Node, _siblings: List[Node]) -> None:
        node.children = None
        node.prefix = b""
        choice = rng.random()
        if choice < 0.6:
            node.content = rng.choice(INTERESTING_CONTENT)
        elif choice < 0.8:
            node.content = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        else:
            node.content = node.content[: rng.randrange(len(node.content) + 1)]

    @staticmethod
    def _set_tag(rng: random.Random, node: Node, _siblings: List[Node]) -> None:
        choice = rng.random()
        if choice < 0.7:
            tag = rng.choice(UNIVERSAL_TAGS)
            node.tag = b"\x1f\x81\x80\x01" if tag == 0x1F else bytes([tag])
        else:
            node.tag = bytes([node.tag[0] ^ 0x20])  # constructed <-> primitive
        if not node.tag[0] & 0x20 and node.children is not None and not node.prefix:
            node.content = b"".join(c.encode() for c in node.children)
            node.children = None

    @staticmethod
    def _wrap(rng: random.Random, node: Node, siblings: List[Node]) -> None:
        inner = node.copy()
        outer_tag = rng.choice([b"\x30", b"\x31", b"\xa0", b"\x04"])
        wrapped = Node(outer_tag, children=[inner]) if outer_tag != b"\x04" else Node(outer_tag, inner.encode())
        siblings[siblings.index(node)] = wrapped

    @staticmethod
    def _deep_nest(rng: random.Random, node: Node, siblings: List[Node]) -> None:
        """Replace the node by a structure nested hundreds or thousands of levels deep (recursion limits)."""
        depth = rng.choice([50, 200, 1200, 3000])
        tag = rng.choice([b"\x30", b"\x31", b"\xa0", b"\x24", b"\x23"])  # constructed OCTET / BIT STRING too
        data = b"\x05\x00"
        for _ in range(depth):
            data = tag + encode_length(len(data)) + data
        outer, start, end = _read_tlv(data, 0)
        siblings[siblings.index(node)] = Node(outer, data[start:end])  # opaque content: no recursion here

    @staticmethod
    def _delete(rng: random.Random, node: Node, siblings: List[Node]) -> None:
        siblings.remove(node)

    @staticmethod
    def _duplicate(rng: random.Random, node: Node, siblings: List[Node]) -> None:
        siblings.insert(siblings.index(node), node.copy())

    @staticmethod
    def _swap(rng: random.Random, node: Node, siblings: List[Node]) -> None:
        other = rng.randrange(len(siblings))
        here = siblings.index(node)
        siblings[here], siblings[other] = siblings[other], siblings[here]

    def _splice(self, rng: random.Random, node: Node, siblings: List[Node]) -> None:
        if self.donors:
            siblings[siblings.index(node)] = rng.choice(self.donors).copy()

    @staticmethod
    def _flip_in_content(rng: random.Random, node: Node, _siblings: List[Node]) -> None:
        if node.children is None and node.content:
            data = bytearray(node.content)
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            node.content = bytes(data)

    # -- byte mutations ---------------------------------------------------------------------
    def _tlv_offsets(self, data: bytes) -> List[Tuple[int, int]]:
        """(start of length octets, their size) of every TLV that still parses from the start."""
        found: List[Tuple[int, int]] = []

        def scan(pos: int, end: int, depth: int) -> None:
            while pos < end and depth < 40:
                try:
                    tag, start, stop = _read_tlv(data[:end], pos)
                except ValueError:
                    return
                found.append((pos + len(tag), start - pos - len(tag)))
                if tag[0] & 0x20:
                    scan(start, stop, depth + 1)
                pos = stop

        scan(0, len(data), 0)
        return found

    def _byte_mutation(self, rng: random.Random, data: bytes) -> bytes:
        buf = bytearray(data)
        if not buf:
            return bytes([rng.randrange(256)])
        choice = rng.randrange(8)
        if choice == 0:  # bit flips
            for _ in range(rng.randint(1, 4)):
                buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        elif choice == 1:  # truncation
            del buf[rng.randrange(len(buf)) :]
        elif choice == 2:  # junk appended
            buf += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif choice == 3:  # a byte range removed or inserted
            at = rng.randrange(len(buf))
            if rng.random() < 0.5:
                del buf[at : at + rng.randint(1, 8)]
            else:
                buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 4:  # an interesting byte
            buf[rng.randrange(len(buf))] = rng.choice([0x00, 0xFF, 0x7F, 0x80, 0x81, 0x30, 0x05, 0x1F])
        else:  # a length field edited without fixing anything around it
            offsets = self._tlv_offsets(bytes(buf))
            if offsets:
                at, size = rng.choice(offsets)
                if rng.random() < 0.5 and size == 1 and buf[at] < 0x80:
                    buf[at] = (buf[at] + rng.choice([-2, -1, 1, 2])) % 0x80
                else:
                    buf[at : at + size] = rng.choice(BAD_LENGTHS)
            else:
                buf[rng.randrange(len(buf))] ^= 0xFF
        return bytes(buf)

    def _blob_field(self, rng: random.Random) -> bytes:
        """Flat blobs (SKF): set a 32-bit little-endian field to an interesting value."""
        buf = bytearray(self.seed)
        at = rng.randrange(0, max(1, len(buf) - 3), 4) if len(buf) >= 4 else 0
        value = rng.choice([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 32, 64, 255, 256, 257, 0x100000, len(buf)])
        buf[at : at + 4] = struct.pack("<I", value)[: len(buf) - at]
        return bytes(buf)

    def mutate(self, rng: random.Random) -> bytes:
        if self.tree is None:
            data = self._blob_field(rng) if rng.random() < 0.4 else self.seed
            for _ in range(rng.randint(0 if data is not self.seed else 1, 2)):
                data = self._byte_mutation(rng, data)
            return data
        roll = rng.random()
        if roll < 0.55:
            return self._tree_mutation(rng)
        if roll < 0.75:
            return self._byte_mutation(rng, self._tree_mutation(rng))
        data = self.seed
        for _ in range(rng.randint(1, 3)):
            data = self._byte_mutation(rng, data)
        return data
