"""Tests of bifrost/micro/metrics.py on small crafted inputs with answers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bifrost.micro.metrics import (
    FlowWindow,
    MicroSettings,
    amihud,
    book_measures,
    compute_metrics,
    kyle_lambda,
    microprice,
    ols_slope,
    realized_volatility,
    sign_autocorrelation,
    tick_rule,
    vpin,
)

SECOND = 1_000_000_000
# Four one-second buckets of trades (ts, price, size, sign):
#   bucket 0: 100.00 x1 buy                       -> last 100.00
#   bucket 1: 100.20 x2 buy                       -> last 100.20, net +2
#   bucket 2: 100.25 x2 sell, then 100.10 x1 buy  -> last 100.10, net -2 + 1 = -1
#   bucket 3: 100.40 x3 buy                       -> last 100.40, net +3
TS = np.array([0.1, 1.2, 2.5, 2.6, 3.3]) * SECOND
TS = TS.astype(np.int64)
PRICES = np.array([100.00, 100.20, 100.25, 100.10, 100.40])
SIZES = np.array([1.0, 2.0, 2.0, 1.0, 3.0])
SIGNS = np.array([1.0, 1.0, -1.0, 1.0, 1.0])


def test_microprice_leans_toward_the_thin_side() -> None:
    # (100 * 100 + 100.1 * 300) / 400 = (10000 + 30030) / 400 = 100.075
    assert microprice(100.0, 100.1, 300.0, 100.0) == pytest.approx(100.075)


def test_book_measures_spread_depth_and_imbalance() -> None:
    bids = [(100.0, 300.0), (99.9, 200.0), (99.8, 100.0)]
    asks = [(100.1, 100.0), (100.2, 100.0)]
    out = book_measures(bids, asks, depth_levels=2)
    assert out["spread"] == pytest.approx(0.1)
    assert out["spread_bps"] == pytest.approx(0.1 / 100.05 * 1e4)  # 9.995 bps of the mid
    assert (out["bid_depth"], out["ask_depth"]) == (500.0, 200.0)  # two levels a side
    assert out["imbalance"] == pytest.approx(300 / 700)  # (500 - 200) / (500 + 200)
    assert out["top_imbalance"] == pytest.approx(0.5)  # (300 - 100) / 400
    assert out["microprice"] == pytest.approx(100.075)


def test_book_measures_one_side_empty_gives_nan_touch() -> None:
    out = book_measures([(100.0, 1.0)], [], 5)
    assert math.isnan(out["spread"]) and out["imbalance"] == 1.0


def test_realized_volatility_of_up_and_back() -> None:
    # log(101/100) and log(100/101): sqrt(2 * log(1.01)^2) = sqrt(2) * log(1.01)
    assert realized_volatility(np.array([100.0, 101.0, 100.0])) == pytest.approx(
        math.sqrt(2) * math.log(1.01)
    )
    assert math.isnan(realized_volatility(np.array([100.0])))


def test_sign_autocorrelation_of_pairs_by_hand() -> None:
    signs = np.array([1.0, 1, -1, -1, 1, 1, -1, -1])  # mean 0, sum of squares 8
    # lag 1: 1 - 1 + 1 - 1 + 1 - 1 + 1 = 1 -> 1/8
    assert sign_autocorrelation(signs, 1) == pytest.approx(0.125)
    # lag 2: every pair two apart has opposite signs: -6 -> -6/8
    assert sign_autocorrelation(signs, 2) == pytest.approx(-0.75)
    assert math.isnan(sign_autocorrelation(np.ones(5), 1))  # no variance


def test_tick_rule_signs_by_hand() -> None:
    prices = np.array([10.0, 10.1, 10.1, 10.0, 10.0, 10.2])
    assert tick_rule(prices).tolist() == [0.0, 1.0, 1.0, -1.0, -1.0, 1.0]


def test_ols_slope_by_hand() -> None:
    # x = 1, 2, 3 (mean 2); y = 1, 3, 2 (mean 2); sxy = (-1)(-1) + 0 + (1)(0) = 1; sxx = 2
    assert ols_slope(np.array([1.0, 2, 3]), np.array([1.0, 3, 2])) == pytest.approx(0.5)


def test_kyle_lambda_of_exact_linear_impact() -> None:
    # Per bucket after the first: net volume 2, -1, 3 and price change +0.20, -0.10, +0.30:
    # every change is 0.1 x the net signed volume, so lambda is 0.1 exactly.
    assert kyle_lambda(TS, PRICES, SIZES, SIGNS, SECOND) == pytest.approx(0.1)
    assert math.isnan(kyle_lambda(TS[:2], PRICES[:2], SIZES[:2], SIGNS[:2], SECOND))


def test_amihud_by_hand() -> None:
    # returns 100.2/100 - 1, 100.1/100.2 - 1, 100.4/100.1 - 1 over dollar volumes
    # 100.2*2 = 200.4, 100.25*2 + 100.1*1 = 300.6, 100.4*3 = 301.2
    expected = (0.002 / 200.4 + (0.1 / 100.2) / 300.6 + (0.3 / 100.1) / 301.2) / 3
    assert amihud(TS, PRICES, SIZES, SECOND) == pytest.approx(expected)


def test_vpin_buckets_by_hand() -> None:
    # bucket volume 10: 6 buy + 4 of the 6 sold -> |6 - 4| / 10 = 0.2;
    # the other 2 sold + 8 bought -> |8 - 2| / 10 = 0.6; 2 bought are left over
    sizes, signs = np.array([6.0, 6, 8, 2]), np.array([1.0, -1, 1, 1])
    value, buckets = vpin(sizes, signs, 10.0, 50)
    assert (value, buckets) == (pytest.approx(0.4), 2)
    assert vpin(sizes, signs, 10.0, 1)[0] == pytest.approx(0.6)  # the last bucket only


def test_vpin_trade_spanning_buckets_and_unclassified_volume() -> None:
    assert vpin(np.array([25.0]), np.array([1.0]), 10.0, 50) == (pytest.approx(1.0), 2)
    assert vpin(np.array([10.0]), np.array([0.0]), 10.0, 50)[0] == pytest.approx(0.0)
    assert math.isnan(vpin(np.array([1.0]), np.array([1.0]), 10.0, 50)[0])


def test_compute_metrics_gives_every_measure_and_none_for_unmeasurable() -> None:
    window = FlowWindow(
        np.array([0, SECOND], dtype=np.int64), np.array([100.0, 101.0]), TS, PRICES, SIZES, SIGNS
    )
    settings = MicroSettings(depth_levels=1, vpin_bucket_volume=3.0)
    out = compute_metrics("AAPL", [(100.0, 300.0)], [(100.1, 100.0)], window, settings, 5)
    assert out["kyle_lambda"] == pytest.approx(0.1)
    assert out["realized_vol"] == pytest.approx(math.log(1.01))
    assert out["vpin_buckets"] == 3 and out["trades"] == 5 and out["quotes"] == 2
    empty = np.array([], dtype=np.int64), np.array([])
    idle = FlowWindow(empty[0], empty[1], empty[0], empty[1], empty[1], empty[1])
    out = compute_metrics("AAPL", [], [], idle, MicroSettings(), 5)
    assert out["vpin"] is None and out["spread"] is None and out["kyle_lambda"] is None
