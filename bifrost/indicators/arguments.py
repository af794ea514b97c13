"""Checks of indicator arguments at the Python edge; the numba kernels trust what passes."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bifrost.errors import BadRequest


def check_window(name: str, value: object, minimum: int = 1) -> int:
    """`value` as an int >= `minimum`; bools and floats (even 3.0) are refused."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise BadRequest(
            f"{name} must be an int, got {type(value).__name__} {value!r}", {"param": name}
        )
    if value < minimum:
        raise BadRequest(f"{name} must be >= {minimum}, got {value}", {"param": name})
    return int(value)


def check_ddof(ddof: object, n: int) -> int:
    """`ddof` as an int with 0 <= ddof < n, so the divisor n - ddof stays positive."""
    ddof = check_window("ddof", ddof, minimum=0)
    if ddof >= n:
        raise BadRequest(f"ddof must be < n ({n}), got {ddof}", {"param": "ddof"})
    return ddof


def check_multiplier(name: str, value: object) -> float:
    """`value` as a finite float >= 0 (a band width in standard deviations)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise BadRequest(
            f"{name} must be a number, got {type(value).__name__} {value!r}", {"param": name}
        )
    number = float(value)
    if not math.isfinite(number) or number < 0.0:
        raise BadRequest(f"{name} must be finite and >= 0, got {value}", {"param": name})
    return number


def as_series(name: str, values: ArrayLike) -> NDArray[np.float64]:
    """`values` as a contiguous 1-D float64 array (one numba specialisation per kernel)."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{name} must be numeric: {exc}", {"param": name}) from exc
    if array.ndim != 1:
        raise BadRequest(f"{name} must be 1-D, got {array.ndim}-D", {"param": name})
    return np.ascontiguousarray(array)


def as_series_set(**named: ArrayLike) -> list[NDArray[np.float64]]:
    """Each keyword as a 1-D float64 array, in order; all must have the same length."""
    arrays = [as_series(name, values) for name, values in named.items()]
    lengths = {name: len(array) for name, array in zip(named, arrays, strict=True)}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise BadRequest(f"arrays must have equal lengths, got {shown}", {"lengths": lengths})
    return arrays
