"""Large tabular results on the bus: Polars frames as Arrow IPC bytes inside a message body."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from bifrost.errors import BadRequest

if TYPE_CHECKING:
    import polars as pl


def frame_to_ipc(frame: pl.DataFrame) -> bytes:
    """Serialize a frame as one Arrow IPC stream (uncompressed: loopback is faster than lz4)."""
    buffer = io.BytesIO()
    frame.write_ipc_stream(buffer, compression="uncompressed")
    return buffer.getvalue()


def ipc_to_frame(data: bytes) -> pl.DataFrame:
    """Read a frame sent by `frame_to_ipc`; BadRequest if the bytes are not Arrow IPC."""
    import polars as pl

    if not isinstance(data, bytes):
        raise BadRequest(f"expected Arrow IPC bytes, got {type(data).__name__}")
    try:
        return pl.read_ipc_stream(io.BytesIO(data))
    except Exception as exc:  # polars raises several unrelated types for corrupt input
        raise BadRequest(f"not a valid Arrow IPC stream: {exc}") from None
