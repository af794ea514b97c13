"""The model registry of ml.duckdb: versions, metadata, and signed serialized models.

Models are pickled, and unpickling runs code, so the registry only ever loads bytes
it wrote itself: each blob is signed with HMAC-SHA256 under a secret key kept beside
the store (`ml.key`, readable by its owner only) and the signature is checked before
anything is unpickled. A blob copied in from elsewhere, or altered, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from bifrost.errors import BifrostError
from bifrost.ml.models import FittedModel
from bifrost.store.models import insert_model, model_row, model_rows, next_version

if TYPE_CHECKING:  # training brings Polars and the feature kernels; the registry needs neither
    from bifrost.ml.training import TrainedModel

KEY_FILE = "ml.key"
STORE_FILE = "ml.duckdb"


class UntrustedModel(BifrostError):
    """The stored bytes of a model are not signed by this registry's key."""


def store_path(home: Path) -> Path:
    """Where the ml service keeps its DuckDB file."""
    return home / STORE_FILE


def signing_key(home: Path, create: bool) -> bytes:
    """This registry's signing key (made, owner-only, on the first write)."""
    path = home / KEY_FILE
    if not path.exists():
        if not create:
            raise UntrustedModel(
                f"{path} is missing, so no stored model can be trusted; models must be "
                "trained again in this data dir"
            )
        home.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def sign(key: bytes, blob: bytes) -> str:
    """HMAC-SHA256 of the blob, hex."""
    return hmac.new(key, blob, hashlib.sha256).hexdigest()


def unpickle_signed(key: bytes, blob: bytes, signature: str, label: str) -> FittedModel:
    """The model in `blob`, only if `signature` is this key's; else UntrustedModel."""
    if not hmac.compare_digest(sign(key, blob), signature):
        raise UntrustedModel(f"model {label} is not signed by this registry: refusing to load it")
    model = pickle.loads(blob)  # safe: signed by this registry's own key, checked just above
    if not isinstance(model, FittedModel):
        raise UntrustedModel(f"model {label} does not hold a fitted model")
    return model


class ModelRegistry:
    """Save, list, show and load models of one ml.duckdb connection."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, home: Path) -> None:
        self.connection = connection
        self.home = home

    def save(self, trained: TrainedModel, code_version: str) -> dict[str, Any]:
        """Store a trained model as the next version of its name; returns its record."""
        request = trained.request
        blob = pickle.dumps(trained.model, protocol=pickle.HIGHEST_PROTOCOL)
        record = {
            "name": request.name,
            "version": next_version(self.connection, request.name),
            "kind": request.kind,
            "params": trained.metrics["params"],
            "features": list(trained.model.features),
            "symbols": list(request.symbols),
            "timeframe": request.timeframe,
            "horizon": request.horizon,
            "train_start": trained.first_ts,
            "train_end": trained.last_ts,
            "rows": trained.rows,
            "metrics": trained.metrics,
            "created_ns": time.time_ns(),
            "code_version": code_version,
        }
        insert_model(self.connection, record, blob, sign(signing_key(self.home, True), blob))
        return record

    def list(self, latest_only: bool = False) -> list[dict[str, Any]]:
        """Model versions, newest first (each name's latest with `latest_only`)."""
        return model_rows(self.connection, latest_only)

    def show(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One version's record (the latest by default)."""
        return model_row(self.connection, name, version, with_bytes=False)

    def signed(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One version's record with its `model` bytes and `signature`."""
        return model_row(self.connection, name, version, with_bytes=True)

    def load(self, name: str, version: int | None = None) -> tuple[dict[str, Any], FittedModel]:
        """One version's record and its fitted model, after checking the signature."""
        record = self.signed(name, version)
        key = signing_key(self.home, False)
        label = f"{record['name']} v{record['version']}"
        model = unpickle_signed(key, record.pop("model"), record.pop("signature"), label)
        return record, model
