"""The registry stores versions in a real ml.duckdb and only loads models it signed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bifrost.errors import NotFound
from bifrost.ml.inference import score_bars
from bifrost.ml.registry import ModelRegistry, UntrustedModel, store_path
from bifrost.ml.training import TrainRequest, train_model
from bifrost.store.database import open_store
from bifrost.store.schema import ML
from tests.bifrost.ml.synthetic import bars


@pytest.fixture
def registry(tmp_path: Path):
    connection = open_store(store_path(tmp_path), migrations=ML)
    try:
        yield ModelRegistry(connection, tmp_path)
    finally:
        connection.close()


def trained(name: str = "m", kind: str = "logistic"):
    return train_model(
        TrainRequest(name, ("SYN",), kind=kind, horizon=1, folds=3), {"SYN": bars(400, seed=1)}
    )


def test_saved_model_loads_back_and_scores_the_same(registry: ModelRegistry) -> None:
    model = trained()
    record = registry.save(model, "test")
    loaded_record, loaded = registry.load("m")
    assert record["version"] == loaded_record["version"] == 1
    assert loaded_record["metrics"] == record["metrics"]
    series = bars(200, seed=9)
    before = score_bars(model.model, series, "1d")["probability"].to_numpy()
    after = score_bars(loaded, series, "1d")["probability"].to_numpy()
    assert np.allclose(before, after, equal_nan=True)


def test_training_again_adds_a_version_and_list_shows_both(registry: ModelRegistry) -> None:
    registry.save(trained(), "test")
    registry.save(trained(kind="ridge"), "test")
    assert [(m["name"], m["version"]) for m in registry.list()] == [("m", 2), ("m", 1)]
    assert registry.show("m")["kind"] == "ridge"
    assert registry.show("m", 1)["kind"] == "logistic"
    assert [m["version"] for m in registry.list(latest_only=True)] == [2]


def test_an_altered_model_is_refused_before_unpickling(registry: ModelRegistry) -> None:
    registry.save(trained(), "test")
    registry.connection.execute("UPDATE models SET model = model || '\\x00'::BLOB")
    with pytest.raises(UntrustedModel, match="not signed by this registry"):
        registry.load("m")


def test_models_of_a_store_without_its_key_are_refused(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    registry.save(trained(), "test")
    (tmp_path / "ml.key").unlink()
    with pytest.raises(UntrustedModel, match=r"ml\.key is missing"):
        registry.load("m")


def test_an_unknown_model_is_not_found_naming_the_known_ones(registry: ModelRegistry) -> None:
    registry.save(trained(), "test")
    with pytest.raises(NotFound, match=r"no model 'nope' in the registry \(models: m\)"):
        registry.show("nope")
    with pytest.raises(NotFound, match="no model 'm v7'"):
        registry.load("m", 7)
