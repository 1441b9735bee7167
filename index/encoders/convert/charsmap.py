"""SentencePiece's `precompiled_charsmap`: a darts-clone double-array trie of normalisation rules.

The tokenizers library can read a Precompiled normaliser but cannot build one from a
table of rules; multilingual-e5's tokenizer needs one, so it is written here. Layout as
read by SentencePiece and the `spm_precompiled` crate: uint32 trie size in bytes, the
trie's uint32 units, then the NUL-terminated replacement strings its values point into.
"""

from __future__ import annotations

import struct

from boussole.index.errors import ModelError


def _trie_unit_offset(offset: int) -> int:
    """darts-clone stores a node's offset in bits 10..30, shifted by 8 when bit 9 is set."""
    if offset < 1 << 21:
        return offset << 10
    if offset & 0xFF == 0 and offset < 1 << 29:
        return (offset >> 8) << 10 | 1 << 9
    raise ModelError(f"double-array offset {offset} cannot be encoded")


def build_double_array(keys: dict[bytes, int]) -> list[int]:
    """A darts-clone double array mapping byte strings to values (< 2**31).

    Unit layout (darts-clone, as read by SentencePiece and the `spm_precompiled` crate):
    bits 0-7 label, bit 8 has_leaf, bits 9-30 offset; a leaf unit is value | 1<<31. The
    child of node i for byte c sits at i ^ offset(i) ^ c; a node's value sits in its
    child for byte 0. Each node gets its own base (so a byte that is not a child can
    never land on a unit with that label), and the array covers every base's 256-unit
    block, because readers index it without bounds checks.
    """
    if not keys or any(not k or 0 in k for k in keys) or any(not 0 <= v < 1 << 31 for v in keys.values()):
        raise ModelError("trie keys must be non-empty, NUL-free, with values below 2**31")
    # Byte trie: node = (children by byte, value or None).
    root: tuple[dict, list] = ({}, [None])
    for key, value in keys.items():
        node = root
        for b in key:
            node = node[0].setdefault(b, ({}, [None]))
        node[1][0] = value

    units: list[int] = [0]
    used = bytearray(1024)
    used[0] = 1  # the root
    bases: set[int] = set()
    search_from = 1

    def ensure(n: int) -> None:
        if n > len(used):
            used.extend(bytes(max(n - len(used), len(used))))
        if n > len(units):
            units.extend([0] * (n - len(units)))

    queue = [(root, 0)]
    while queue:
        (children, leaf), index = queue.pop()
        labels = sorted(children) + ([0] if leaf[0] is not None else [])
        # First fit: a free slot for the first label fixes the base; check the others.
        pos = search_from
        while True:
            ensure(pos + 1)
            if not used[pos]:
                base = pos ^ labels[0]
                if base not in bases and base != index:
                    ensure((base | 0xFF) + 1)
                    if all(not used[base ^ c] for c in labels):
                        break
            pos += 1
        while search_from < len(used) and used[search_from]:
            search_from += 1
        bases.add(base)
        units[index] |= _trie_unit_offset(index ^ base) | (1 << 8 if leaf[0] is not None else 0)
        for c in labels:
            used[base ^ c] = 1
        if leaf[0] is not None:
            units[base] = leaf[0] | 1 << 31
        for c, child in children.items():
            units[base ^ c] = c
            queue.append((child, base ^ c))
    size = (max(b | 0xFF for b in bases) + 1) if bases else 256
    ensure(size)
    return units[:size]


def double_array_lookup(units: list[int], key: bytes) -> list[int]:
    """Values of every key that is a prefix of `key`, shortest first (darts commonPrefixSearch)."""
    out: list[int] = []
    pos = (units[0] >> 10) << ((units[0] & 1 << 9) >> 6)
    for c in key:
        pos ^= c
        if pos >= len(units) or (units[pos] & (1 << 31 | 0xFF)) != c:
            break
        unit = units[pos]
        pos ^= (unit >> 10) << ((unit & 1 << 9) >> 6)
        if unit >> 8 & 1:
            out.append(units[pos] & ((1 << 31) - 1))
    return out


def precompiled_charsmap(rules: dict[int, str]) -> bytes:
    """SentencePiece `precompiled_charsmap` bytes: uint32 trie size in bytes, the trie's
    uint32 units, then the NUL-terminated replacement strings the trie values point into."""
    pool = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp, replacement in sorted(rules.items()):
        if replacement not in where:
            where[replacement] = len(pool)
            pool += replacement.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8", "surrogatepass")] = where[replacement]
    units = build_double_array(keys)
    for key, value in keys.items():  # cheap self-check of the builder
        if double_array_lookup(units, key) != [value]:
            raise ModelError(f"normalisation trie self-check failed for {key!r}")
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + bytes(pool)
