"""Base of the per-bar indicators that strategies update inside `on_bar`."""

from __future__ import annotations

import math


class Incremental:
    """One indicator fed a value at a time; `value` is NaN until `ready`.

    Plain Python on purpose: one update per bar costs less than a call into numba, and
    each subclass runs the same float operations as its batch kernel, so after the i-th
    update `value` equals element i of the batch output.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = math.nan

    @property
    def ready(self) -> bool:
        """True once every output of the indicator is defined."""
        return not math.isnan(self.value)
