"""The ml_signal strategy backtests a registered model on the run's own bars, causally."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bifrost.backtest.runner import RunRequest, bar_arrays, run_request
from bifrost.errors import BadRequest, NotFound
from bifrost.ml.registry import ModelRegistry, store_path
from bifrost.ml.training import TrainRequest, train_model
from bifrost.store.database import open_store
from bifrost.store.schema import ML
from bifrost.strategy.builtin.ml_signal import rise_probabilities
from tests.bifrost.ml.synthetic import bars
from tests.conftest import write_config

SERIES = bars(1800, seed=11, persistence=0.5)
"""A series with a planted signal: the model learns from its first TRAINED bars."""
TRAINED = 1200


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A home whose registry holds `planted` (trained on the first 1200 bars of SERIES), and
    a config without an ml service, so the strategy reads the registry file."""
    root = tmp_path_factory.mktemp("ml-signal")
    home = root / "home"
    trained = train_model(
        TrainRequest("planted", ("SYN",), kind="logistic", horizon=1, folds=3),
        {"SYN": SERIES.head(TRAINED)},
    )
    connection = open_store(store_path(home), migrations=ML)
    try:
        ModelRegistry(connection, home).save(trained, "test")
    finally:
        connection.close()
    return {"model": "planted", "home": str(home), "config": str(write_config(root))}


def run(params: dict[str, str], engine: str = "event", **extra: object):
    data = {"SYN": bar_arrays(SERIES)}
    request = RunRequest("ml_signal", ("SYN",), {**params, **extra}, engine=engine)
    return run_request(request, data)


def test_ml_signal_trades_after_the_training_range_and_profits_from_the_signal(setup) -> None:
    result = run(setup, threshold=0.55)
    assert len(result.trades) > 20
    first_unseen = int(SERIES["ts"][TRAINED])  # the last label looked one bar past the range
    assert min(t.entry_ts for t in result.trades) > first_unseen
    assert result.stats["total_return_pct"] > 0


def test_event_and_vector_engines_give_the_same_trades(setup) -> None:
    event, vector = run(setup), run(setup, engine="vector")
    assert [(t.entry_ts, t.exit_ts, t.size) for t in event.trades] == [
        (t.entry_ts, t.exit_ts, t.size) for t in vector.trades
    ]


def test_each_bars_probability_uses_that_bar_and_earlier_ones_only(setup) -> None:
    home = Path(setup["home"])
    with open_store(store_path(home), read_only=True, migrations=ML) as connection:
        _, model = ModelRegistry(connection, home).load("planted")
    a = bar_arrays(bars(300, seed=13))
    fields = (a.ts, a.open, a.high, a.low, a.close, a.volume)
    record = {"timeframe": "1d", "train_end": 0, "horizon": 1}  # bars after the training
    full = rise_probabilities(model, record, None, *fields)
    assert np.isnan(full[:49]).all() and np.isfinite(full[49:]).all()  # the 50-bar SMA
    for cut in (80, 150, 299):
        partial = rise_probabilities(model, record, None, *(f[:cut] for f in fields))
        assert partial[-1] == pytest.approx(full[cut - 1], rel=1e-12)


def test_ml_signal_without_a_model_or_with_an_unknown_one_is_refused(setup) -> None:
    with pytest.raises(BadRequest, match="needs a model"):
        run({**setup, "model": ""})
    with pytest.raises(NotFound, match="no model 'nope'"):
        run({**setup, "model": "nope"})
