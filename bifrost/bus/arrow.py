"""Large tabular results on the bus: Polars frames as Arrow IPC streams in bulk frames.

A frame travels as one Arrow IPC stream in a bulk frame of its own (wire v2,
bifrost.bus.codec.Bulk), never packed into msgpack: the sender writes it once into a
buffer sized in advance and ZeroMQ sends that buffer as it is; the receiver reads the
columns straight out of ZeroMQ's message, without a copy. pyarrow does both, because
Polars writes IPC through Python file calls (several times slower) and always copies
when it reads. pyarrow is imported on first use, so a process that never moves a frame
never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bifrost.bus.codec import Bulk
from bifrost.errors import BadRequest

if TYPE_CHECKING:
    import polars as pl


def frame_to_bulk(frame: pl.DataFrame) -> Bulk:
    """`frame` as one uncompressed Arrow IPC stream (loopback is faster than lz4)."""
    import pyarrow as pa

    table = frame.to_arrow()
    measure = pa.MockOutputStream()  # a dry run that only counts bytes
    with pa.ipc.new_stream(measure, table.schema) as writer:
        writer.write_table(table)
    buffer = pa.allocate_buffer(measure.size())
    with pa.ipc.new_stream(pa.FixedSizeBufferWriter(buffer), table.schema) as writer:
        writer.write_table(table)
    return Bulk(buffer)


def ipc_to_frame(data: Any) -> pl.DataFrame:
    """Read a frame sent by `frame_to_bulk` (any buffer, or the Bulk itself), without
    copying its columns; BadRequest if the bytes are not a valid Arrow IPC stream."""
    import polars as pl
    import pyarrow as pa

    if isinstance(data, Bulk):
        data = data.data
    try:
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
        table.validate(full=True)  # offsets and lengths inside their buffers
        return pl.from_arrow(table, rechunk=False)  # type: ignore[return-value]
    except TypeError:
        raise BadRequest(f"expected Arrow IPC bytes, got {type(data).__name__}") from None
    except Exception as exc:  # pyarrow and polars raise several types for corrupt input
        raise BadRequest(f"not a valid Arrow IPC stream: {exc}") from None
