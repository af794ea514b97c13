"""An append-only file of records made durable with one fdatasync per group of writes.

A DuckDB commit costs milliseconds of statement work whatever its size; a record that
must be on disk before a service answers (a journaled order, an audit decision) only
needs the disk's own cost. So such records are appended here first, each group with
one `write` and one `fdatasync`, and fed to DuckDB later in large transactions (see
`bifrost.store.orders` and `bifrost.compliance.audit`).

Each record is framed as

    length (u32, little-endian) | crc32 of the payload (u32) | payload (MessagePack)

and carries its sequence number. Reading stops at the first frame that is short or
whose checksum is wrong: that is a write a crash cut off, which was never acknowledged,
and it is cut from the file so later appends follow the last whole record.
Once the records are in DuckDB (and DuckDB committed them), `reset()` empties the file.
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


class WriteAheadLog:
    """One log file, opened for appending; written from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self._fd).st_size
        self.syncs = 0
        """fdatasync calls so far (each is one group commit)."""

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
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fdatasync(self._fd)
        self.syncs += 1
        self.size += len(data)
        return len(data)

    def records(self) -> list[Any]:
        """Every whole record in the file, oldest first; a torn tail is cut off the file."""
        with open(self.path, "rb") as handle:
            data = handle.read()
        found: list[Any] = []
        offset = 0
        while offset + HEADER.size <= len(data):
            length, checksum = HEADER.unpack_from(data, offset)
            start, end = offset + HEADER.size, offset + HEADER.size + length
            if length > MAX_RECORD_BYTES or end > len(data):
                break
            payload = data[start:end]
            if zlib.crc32(payload) != checksum:
                break
            found.append(msgpack.unpackb(payload, raw=False, strict_map_key=False))
            offset = end
        if offset != len(data):
            os.ftruncate(self._fd, offset)
            os.fsync(self._fd)
            self.size = offset
        return found

    def reset(self) -> None:
        """Empty the file (its records are safely elsewhere now)."""
        if self.size:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self.size = 0

    def close(self) -> None:
        """Close the file; idempotent."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
