"""Bar timeframes: names like `1m`, `5m`, `1h`, `1d` and their length in nanoseconds.

Bars are stamped with the start of their interval. Intraday buckets are aligned to
the Unix epoch; a `1d` bar is the UTC calendar day, which holds a whole US or
European equity session.
"""

from __future__ import annotations

import re

from bifrost.errors import BadRequest

NS = {"s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000}
_PATTERN = re.compile(r"^([1-9][0-9]*)([smhd])$")


def timeframe_ns(timeframe: str) -> int:
    """Length of one bar of `timeframe` in ns; BadRequest for a name we do not know."""
    match = _PATTERN.match(timeframe)
    if not match:
        raise BadRequest(
            f"timeframe '{timeframe}' is not a number and a unit (s, m, h, d), e.g. 1m, 5m, 1h, 1d"
        )
    return int(match.group(1)) * NS[match.group(2)]


def check_resample(source: str, target: str) -> int:
    """The target length in ns, if `target` is a whole multiple of `source`."""
    source_ns, target_ns = timeframe_ns(source), timeframe_ns(target)
    if target_ns < source_ns or target_ns % source_ns:
        raise BadRequest(f"cannot build {target} bars from {source} bars: not a whole multiple")
    return target_ns
