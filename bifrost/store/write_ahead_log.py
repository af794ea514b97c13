"""An append-only file of records made durable with one fdatasync per group of writes.

A DuckDB commit costs milliseconds of statement work whatever its size; a record that
must be on disk before a service answers (a journaled order, an audit decision) only
needs the disk's own cost. So such records are appended here first, each group with
one `write` and one `fdatasync`, and fed to DuckDB later in large transactions (see
`bifrost.store.orders` and `bifrost.compliance.audit`).

Each record is framed as

    length (u32, little-endian) | crc32 of the payload (u32) | payload (MessagePack)

and carries its sequence number. Reading stops at the first frame that is short, empty
or whose checksum is wrong: that is a write a crash cut off, which was never
acknowledged (or space reserved and not yet written), and it is cut from the file so
later appends follow the last whole record. Once the records are in DuckDB (and DuckDB
committed them), `reset()` empties the file.

Space is reserved ahead (`posix_fallocate`, `RESERVE_BYTES` at a time, made durable
once): an fdatasync that only writes data is cheaper than one that must also record a
file that grew (measured here: about 80 µs against 120 µs).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgpack

HEADER = struct.Struct("<II")
MAX_RECORD_BYTES = 64 * 1024 * 1024
RESERVE_BYTES = 8 * 1024 * 1024


class WriteAheadLog:
    """One log file written at its end; written from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.size = 0
        """Where the next record goes: the end of the last whole record."""
        self._reserved = 0
        self.syncs = 0
        """fdatasync calls so far (each is one group commit)."""
        self.records()

    def append(self, records: Iterable[Any]) -> int:
        """Write the records and wait until they are on disk; returns the bytes written."""
        chunks = []
        for record in records:
            payload = msgpack.packb(record, use_bin_type=True)
            chunks.append(HEADER.pack(len(payload), zlib.crc32(payload)))
            chunks.append(payload)
        if not chunks:
            return 0
        data = b"".join(chunks)
        self._reserve(self.size + len(data))
        view, offset = memoryview(data), self.size
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written
        os.fdatasync(self._fd)
        self.syncs += 1
        self.size += len(data)
        return len(data)

    def _reserve(self, end: int) -> None:
        """Allocate the file up to at least `end`, durably, a large step at a time."""
        if end <= self._reserved:
            return
        target = max(end, self._reserved + RESERVE_BYTES)
        os.posix_fallocate(self._fd, self._reserved, target - self._reserved)
        os.fsync(self._fd)
        self._reserved = target

    def records(self) -> list[Any]:
        """Every whole record in the file, oldest first; a torn tail is cut off the file."""
        with open(self.path, "rb") as handle:
            data = handle.read()
        found: list[Any] = []
        offset = 0
        while offset + HEADER.size <= len(data):
            length, checksum = HEADER.unpack_from(data, offset)
            start, end = offset + HEADER.size, offset + HEADER.size + length
            if length == 0 or length > MAX_RECORD_BYTES or end > len(data):
                break
            payload = data[start:end]
            if zlib.crc32(payload) != checksum:
                break
            found.append(msgpack.unpackb(payload, raw=False, strict_map_key=False))
            offset = end
        if offset != len(data):
            os.ftruncate(self._fd, offset)
            os.fsync(self._fd)
        self.size = self._reserved = offset
        return found

    def reset(self) -> None:
        """Empty the file (its records are safely elsewhere now)."""
        if self.size or self._reserved:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self.size = self._reserved = 0

    def close(self) -> None:
        """Close the file; idempotent."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
