"""The `[telemetry]` section (bifrost/telemetry/config.py) as read from a config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.config import load_config
from bifrost.errors import ConfigError
from bifrost.telemetry.config import TelemetryConfig
from tests.conftest import write_config


def telemetry(tmp_path: Path, table: str) -> TelemetryConfig:
    return load_config(write_config(tmp_path, extra=f"[telemetry]\n{table}\n")).telemetry


def test_telemetry_absent_is_off(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    assert not config.telemetry.enabled
    assert config.to_dict()["telemetry"] == {
        "otlp_endpoint": None,
        "service_name_prefix": "bifrost",
        "sample_ratio": 1.0,
    }


def test_telemetry_loopback_endpoint_posts_spans_to_v1_traces(tmp_path: Path) -> None:
    section = telemetry(tmp_path, 'otlp_endpoint = "http://127.0.0.1:4318"')
    assert section.enabled
    assert section.traces_url == "http://127.0.0.1:4318/v1/traces"
    assert section.service_name("risk") == "bifrost-risk"


def test_telemetry_endpoint_with_the_traces_path_is_kept(tmp_path: Path) -> None:
    section = telemetry(tmp_path, 'otlp_endpoint = "https://otel.example:4318/v1/traces/"')
    assert section.traces_url == "https://otel.example:4318/v1/traces"


def test_telemetry_prefix_and_ratio_are_read(tmp_path: Path) -> None:
    section = telemetry(
        tmp_path,
        'otlp_endpoint = "http://localhost:4318"\nservice_name_prefix = "desk"\nsample_ratio = 0',
    )
    assert (section.service_name("execution"), section.sample_ratio) == ("desk-execution", 0.0)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('otlp_endpoint = "grpc://127.0.0.1:4317"', "must be an http:// or https:// URL"),
        ('otlp_endpoint = "127.0.0.1:4318"', "must be an http:// or https:// URL"),
        ('otlp_endpoint = "http://10.0.0.5:4318"', "use https://10.0.0.5:4318"),
        ('otlp_endpoint = "http://collector:4318"', "off loopback"),
        ('otlp_endpoint = "http://127.0.0.1:99999"', "not a URL"),
        ('otlp_endpoint = "http://127.0.0.1:4318/?a=1"', "query"),
        ("sample_ratio = 1.5", "between 0 and 1"),
        ('service_name_prefix = " "', "must not be empty"),
        ('otlp_endpoint = "http://127.0.0.1:4318"\nendpoint = "x"', "unknown key 'endpoint'"),
        ("otlp_endpoint = 4318", "key 'otlp_endpoint' must be str"),
    ],
)
def test_telemetry_bad_value_is_a_config_error_naming_the_section(
    tmp_path: Path, table: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=r"\[telemetry\]") as caught:
        telemetry(tmp_path, table)
    assert words in caught.value.message
