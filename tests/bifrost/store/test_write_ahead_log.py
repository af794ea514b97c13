"""Tests of bifrost/store/write_ahead_log.py: durable groups, a torn tail cut, reset."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.store.write_ahead_log import WriteAheadLog

pytestmark = pytest.mark.timeout(30)


def test_records_come_back_in_order_after_reopening(tmp_path: Path):
    log = WriteAheadLog(tmp_path / "x.wal")
    log.append([[1, "a"], [2, {"b": 2.5}]])
    log.append([[3, None]])
    assert log.syncs == 2
    log.close()
    again = WriteAheadLog(tmp_path / "x.wal")
    assert again.records() == [[1, "a"], [2, {"b": 2.5}], [3, None]]
    again.close()


@pytest.mark.parametrize("cut", [1, 5, 9, 12])
def test_a_torn_last_write_is_cut_and_later_appends_follow_the_last_whole_record(
    tmp_path: Path, cut: int
):
    path = tmp_path / "x.wal"
    log = WriteAheadLog(path)
    log.append([[1, "kept"]])
    whole = log.size
    log.append([[2, "torn by a crash"]])
    assert path.stat().st_size > log.size  # space reserved ahead, read as zeros
    log.close()
    data = path.read_bytes()
    path.write_bytes(data[: whole + cut] + bytes(4096))
    again = WriteAheadLog(path)
    assert again.records() == [[1, "kept"]]
    assert path.stat().st_size == whole
    again.append([[3, "next"]])
    assert again.records() == [[1, "kept"], [3, "next"]]
    again.close()


def test_a_flipped_byte_ends_the_log_there(tmp_path: Path):
    path = tmp_path / "x.wal"
    log = WriteAheadLog(path)
    log.append([[1, "a"], [2, "b"]])
    end = log.size
    log.close()
    data = bytearray(path.read_bytes())
    data[end - 1] ^= 0xFF
    path.write_bytes(bytes(data))
    again = WriteAheadLog(path)
    assert again.records() == [[1, "a"]]
    again.close()


def test_reset_empties_the_file(tmp_path: Path):
    log = WriteAheadLog(tmp_path / "x.wal")
    log.append([[1, "a"]])
    log.reset()
    assert log.size == 0 and log.records() == []
    log.append([[2, "b"]])
    assert log.records() == [[2, "b"]]
    log.close()
