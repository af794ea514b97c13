"""The chart screen and the backtest detail draw what they are asked for, from a clean
figure: the plotted series are read back from plotext's figure, not from the screen text."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import pytest

from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.market.gateway import DataGateway
from tests.conftest import write_config
from tests.tui.test_app import until
from tui.app import make_app
from tui.screens.backtests import draw_run
from tui.screens.chart import ChartScreen, ChartView, draw

pytestmark = pytest.mark.timeout(60)
PRICE_BANDS = {  # (symbol, timeframe): (lowest price, highest volume) of that series
    ("AAPL", "1d"): (100.0, 1_000.0),
    ("MSFT", "1d"): (400.0, 2_000.0),
    ("AAPL", "1m"): (200.0, 3_000.0),
    ("MSFT", "1m"): (500.0, 4_000.0),
}
BAND_WIDTH = 50.0


def bars_csv(folder: Path, symbol: str, timeframe: str) -> Path:
    """Sixty bars whose prices lie in the series' own band [low, low + BAND_WIDTH)."""
    low, volume = PRICE_BANDS[(symbol, timeframe)]
    if timeframe == "1d":
        stamps = pl.date_range(pl.date(2024, 9, 2), pl.date(2024, 12, 31), eager=True)
        stamps = stamps.filter(stamps.dt.weekday() <= 5).head(60).dt.strftime("%Y-%m-%d")
    else:
        start = pl.datetime(2024, 12, 2, 14, 30)
        stamps = pl.datetime_range(start, pl.datetime(2024, 12, 2, 15, 29), "1m", eager=True)
        stamps = stamps.dt.strftime("%Y-%m-%d %H:%M:%S")
    close = [low + 10 + (i % 20) for i in range(60)]
    frame = pl.DataFrame(
        {
            "Date": stamps,
            "Open": close,
            "High": [c + 5 for c in close],
            "Low": [c - 5 for c in close],
            "Close": close,
            "Volume": [volume + i for i in range(60)],
        }
    )
    path = folder / f"{symbol}-{timeframe}.csv"
    frame.write_csv(path)
    return path


@pytest.fixture
def config(tmp_path: Path, home: Path) -> BifrostConfig:
    """A config whose data service is not running: the screen reads the store itself."""
    config = load_config(write_config(tmp_path))
    folder = tmp_path / "bars"
    folder.mkdir()
    with BifrostClient(config, timeout_ms=500) as client:
        gateway = DataGateway(client, home)
        for symbol, timeframe in PRICE_BANDS:
            path = bars_csv(folder, symbol, timeframe)
            gateway.import_files([path], symbol=symbol, timeframe=timeframe)
    return config


def assert_plotted(screen: ChartScreen, symbol: str, timeframe: str) -> None:
    """Two panels: candles of this series alone under its title, then its volume."""
    drawn = screen.drawn
    assert drawn is not None and drawn.view.symbol == symbol
    candles, volume = drawn.panels  # exactly one volume panel below the candles
    low, lowest_volume = PRICE_BANDS[(symbol, timeframe)]
    assert candles.title is not None and candles.title.startswith(f"{symbol} {timeframe}")
    assert all(low - 5 <= v < low + BAND_WIDTH for v in candles.values())
    assert {lowest_volume, lowest_volume + 59} <= volume.values()
    assert all(v == 0 or lowest_volume <= v < lowest_volume + 60 for v in volume.values())


def test_chart_screen_after_switching_symbol_and_timeframe_plots_only_the_new_series(
    config, home
) -> None:
    async def scenario() -> None:
        app = make_app(config, home)
        async with app.run_test(size=(160, 45)) as pilot:
            await app.push_screen(ChartScreen("AAPL"))
            screen = app.screen
            await until(pilot, lambda: screen.drawn and screen.drawn.view.symbol == "AAPL")
            assert_plotted(screen, "AAPL", "1d")
            await pilot.press("escape")
            await app.push_screen(ChartScreen("MSFT"))
            screen = app.screen
            await until(pilot, lambda: screen.drawn and screen.drawn.view.symbol == "MSFT")
            assert_plotted(screen, "MSFT", "1d")
            await pilot.press("f")  # 1d -> 1m
            await until(pilot, lambda: screen.drawn and screen.drawn.view.timeframe == "1m")
            assert_plotted(screen, "MSFT", "1m")

    asyncio.run(scenario())


def test_backtest_detail_after_a_chart_plots_the_runs_equity_alone(config, home) -> None:
    with BifrostClient(config, timeout_ms=500) as client:
        frame = DataGateway(client, home).bars("AAPL", "1d")
    draw(frame, ChartView("AAPL", "1d", "SMA"), 120, 30)  # leaves two panels behind
    equity = [100_000.0, 100_750.5, 99_980.25, 101_204.0]
    run = {
        "run_id": "run-1",
        "strategy": "sma_cross",
        "symbols": ["AAPL"],
        "params": {"fast": 10, "slow": 30},
        "stats": {"total_return_pct": 1.2},
        "equity": [
            {"ts": 1_733_097_600_000_000_000 + day * 86_400_000_000_000, "equity": value}
            for day, value in enumerate(equity)
        ],
    }
    text, panels = draw_run(run, 120)
    assert [panel.title for panel in panels] == ["run-1 sma_cross AAPL fast=10 slow=30"]
    assert panels[0].series == (tuple(equity),)
    assert text.startswith("total_return_pct 1.20")
