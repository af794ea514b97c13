"""Parameter sweeps: a grid of parameter values run (here or on the research cluster) and ranked.

Grid syntax, one parameter per spec: `fast=5:50:5` (start:stop:step, stop included),
`k=1.5,2,2.5` (a list) or `fast=10` (one value). Points that break the strategy's
constraints (`fast < slow`) are skipped before anything runs (`valid_points`) and
counted by rule in the output.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bifrost.backtest.runner import RunRequest, run_request
from bifrost.backtest.stats import STAT_KEYS, to_jsonable
from bifrost.errors import BadRequest, BifrostError, InvalidParameter
from bifrost.strategy.bars import BarArrays, slice_bars
from bifrost.strategy.loader import strategy_class

if TYPE_CHECKING:
    from bifrost.research.cluster import ResearchCluster

MAX_POINTS = 100_000
PARALLEL_MIN_WORK = 5_000_000
"""Grid points x bars below which a local cluster costs more than it saves (starting one
takes a second or two; a point over 2,500 daily bars takes a third of a ms)."""
Progress = Callable[[int, int], None]
"""Called with (done, total) as grid points finish."""


def parse_grid(specs: list[str]) -> dict[str, list[Any]]:
    """Parameter name -> the values to try."""
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        if not sep or not name or not values:
            raise BadRequest(f"grid spec '{spec}' is not like fast=5:50:5 or k=1.5,2")
        grid[name.strip()] = _values(spec, values.strip())
    return grid


def _values(spec: str, text: str) -> list[Any]:
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            count = math.floor((stop - start) / step + 1e-9) + 1
            values = [start + i * step for i in range(count)]
            integral = all(float(x).is_integer() for x in (start, stop, step))
            return [int(v) for v in values] if integral else values
        return [_number(x) for x in text.split(",")]
    except ValueError:
        raise BadRequest(f"grid spec '{spec}' has values that are not numbers") from None


def _number(text: str) -> int | float | str:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value


def grid_points(base: dict[str, Any], grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid, on top of the fixed parameters in `base`."""
    names = list(grid)
    total = math.prod(len(v) for v in grid.values())
    if total > MAX_POINTS:
        raise BadRequest(f"the grid has {total} points; the limit is {MAX_POINTS}")
    return [
        {**base, **dict(zip(names, combo, strict=True))}
        for combo in itertools.product(*(grid[n] for n in names))
    ]


def valid_points(
    request: RunRequest, points: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The points the strategy's constraints allow, and how many were skipped by each rule
    (`fast < slow`: 6). A grid naming a parameter the strategy does not have, or one whose
    every point breaks a rule, is refused with InvalidParameter."""
    cls = strategy_class(request.strategy, request.file)
    spec = cls.parameters()
    for key in points[0] if points else {}:
        if key not in spec:
            known = ", ".join(spec) or "none"
            raise InvalidParameter(key, f"{cls.__name__} has no parameter '{key}' ({known})")
    kept: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    first: InvalidParameter | None = None
    for params in points:
        try:
            cls.checked_params(params)
        except InvalidParameter as exc:
            rule = exc.constraint or exc.parameter
            skipped[rule] = skipped.get(rule, 0) + 1
            first = first or exc
        else:
            kept.append(params)
    if points and not kept and first is not None:
        raise InvalidParameter(
            first.parameter,
            f"every grid point breaks a constraint of {cls.name or cls.__name__}, "
            f"e.g. {first.message}",
            first.constraint,
        )
    return kept, skipped


def rank(results: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Results best first by `metric` (missing or undefined values last)."""
    if metric not in STAT_KEYS:
        raise BadRequest(f"metric '{metric}' is not a statistic ({', '.join(STAT_KEYS)})")

    def key(item: dict[str, Any]) -> float:
        value = item["stats"].get(metric) if item.get("stats") else None
        return -math.inf if value is None else float(value)

    return sorted(results, key=key, reverse=True)


Window = tuple[int, int] | None
"""(first ts, end ts) of the bars to use, or None for all of them."""


def sweep_point(
    request: RunRequest, data: dict[str, BarArrays], params: dict[str, Any]
) -> dict[str, Any]:
    """One grid point over `data`: its params and statistics, or the error that stopped it."""
    try:
        result = run_request(replace(request, params=params), data)
    except BifrostError as exc:
        return {"params": params, "stats": None, "error": exc.message}
    return {"params": params, "stats": to_jsonable(result.stats), "error": None}


def sweep_chunk(
    request: RunRequest, data: dict[str, BarArrays], points: list[dict[str, Any]], window: Window
) -> list[dict[str, Any]]:
    """Grid points over `data` (or its `window`), in order: one task of a spread sweep."""
    view = data if window is None else slice_bars(data, *window)
    return [sweep_point(request, view, params) for params in points]


def worth_spreading(points: list[dict[str, Any]], data: dict[str, BarArrays]) -> bool:
    """True when a grid is big enough to pay for starting a local cluster."""
    return len(points) * max(len(bars) for bars in data.values()) >= PARALLEL_MIN_WORK


def run_sweep(
    request: RunRequest,
    data: dict[str, BarArrays],
    points: list[dict[str, Any]],
    *,
    cluster: ResearchCluster | None = None,
    shared: Any = None,
    progress: Progress | None = None,
    window: Window = None,
) -> list[dict[str, Any]]:
    """Run every point over `data` (or its `window`); results in point order.

    With a `cluster` the points go out in chunks, about four per worker, over `data`
    scattered to each worker once (or `shared`, data scattered already, for many
    sweeps over it); else they run in this process.
    """
    if cluster is None:
        view = data if window is None else slice_bars(data, *window)
        results = []
        for i, params in enumerate(points):
            results.append(sweep_point(request, view, params))
            if progress:
                progress(i + 1, len(points))
        return results
    shared = cluster.scatter(data) if shared is None else shared
    return _spread(cluster, request, shared, points, window, progress)


def _spread(
    cluster: ResearchCluster,
    request: RunRequest,
    shared: Any,
    points: list[dict[str, Any]],
    window: Window,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    offsets = {}
    for offset, chunk in chunk_points(points, cluster.workers):
        offsets[cluster.submit(sweep_chunk, request, shared, chunk, window)] = offset
    results: list[Any] = [None] * len(points)
    done = 0
    try:
        for future in cluster.as_completed(offsets):
            rows = future.result()
            results[offsets[future] : offsets[future] + len(rows)] = rows
            done += len(rows)
            if progress:
                progress(done, len(points))
    finally:
        cluster.client.cancel(list(offsets))
    return results


def chunk_points(
    points: list[dict[str, Any]], workers: int
) -> list[tuple[int, list[dict[str, Any]]]]:
    """The points cut into (offset, chunk) pieces, about four per worker: big enough to
    pay for a round trip, small enough that a lost worker costs little and the fastest
    workers take more."""
    size = max(1, math.ceil(len(points) / (4 * max(1, workers))))
    return [(i, points[i : i + size]) for i in range(0, len(points), size)]
