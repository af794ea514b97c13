"""Annualisation from the instrument's trading hours, and where a backtest picks them up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.backtest.annualisation import periods_per_year, trading_hours_of
from bifrost.backtest.gateway import with_trading_hours
from bifrost.backtest.runner import RunRequest
from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.market.gateway import DataGateway
from bifrost.market.timeframes import timeframe_ns
from bifrost.model.instrument import AssetClass, Instrument
from tests.conftest import write_config


@pytest.mark.parametrize(
    ("hours", "timeframe", "expected"),
    [
        ("equity", "1d", 252),
        ("equity", "1h", 252 * 7),
        ("equity", "1m", 252 * 390),
        ("fx", "1d", 260),
        ("fx", "1h", 260 * 24),
        ("crypto", "1d", 365),
        ("crypto", "1m", 365 * 24 * 60),
        ("crypto", "7d", 365.25 / 7),
        ("equity", "7d", 365.25 / 7),
    ],
)
def test_periods_per_year_follows_the_trading_hours_and_bar(
    hours: str, timeframe: str, expected: float
) -> None:
    assert periods_per_year(hours, timeframe_ns(timeframe)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("instrument", "hours"),
    [
        (Instrument("AAPL"), "equity"),
        (Instrument("SPY", asset_class=AssetClass.ETF), "equity"),
        (Instrument("EURUSD", "FX", AssetClass.FX, calendar="24/5"), "fx"),
        (Instrument.default_for("BTC-USD"), "crypto"),
        (Instrument("ES", asset_class=AssetClass.FUTURE, calendar="24/7"), "crypto"),
    ],
)
def test_trading_hours_of_an_instrument(instrument: Instrument, hours: str) -> None:
    assert trading_hours_of(instrument) == hours


def test_request_annual_periods_prefers_the_given_figure() -> None:
    request = RunRequest("sma_cross", ("X",), trading_hours="fx", periods_per_year=100)
    assert request.annual_periods() == 100
    assert RunRequest("sma_cross", ("X",), trading_hours="fx").annual_periods() == 260
    assert RunRequest("sma_cross", ("X",)).annual_periods() is None


def test_with_trading_hours_reads_the_stored_instrument(tmp_path: Path, home: Path) -> None:
    config = load_config(write_config(tmp_path))
    with BifrostClient(config, timeout_ms=500) as client:
        data = DataGateway(client, home)
        data.add_instrument({"symbol": "EURUSD", "asset_class": "fx", "calendar": "24/5"})
        fx = with_trading_hours(data, RunRequest("sma_cross", ("EURUSD",), timeframe="1h"))
        crypto = with_trading_hours(data, RunRequest("sma_cross", ("ETH-USD",)))
        given = with_trading_hours(data, RunRequest("sma_cross", ("EURUSD",), periods_per_year=9))
    assert (fx.trading_hours, fx.annual_periods()) == ("fx", 260 * 24)
    assert (crypto.trading_hours, crypto.annual_periods()) == ("crypto", 365)
    assert (given.trading_hours, given.annual_periods()) == (None, 9)
