"""N-MNIST reader and binning: the real recording, hand-decoded bits, bad files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from circuits.errors import ConfigError
from cosim.workloads.snn.nmnist import (
    EVENT_DTYPE,
    bin_events,
    decode_events,
    encode_events,
    read_events,
)
from tests import PROJECT_ROOT

SAMPLE = PROJECT_ROOT / "tests" / "data" / "nmnist" / "sample_nmnist.bin"
need_sample = pytest.mark.skipif(not SAMPLE.is_file(),
                                 reason=f"real N-MNIST recording not found at {SAMPLE}")


@need_sample
def test_real_recording_matches_its_description():
    ev = read_events(SAMPLE)
    assert ev.size == SAMPLE.stat().st_size // 5 == 4325
    assert int(ev["x"].max()) <= 33 and int(ev["y"].max()) <= 33
    span_ms = (int(ev["t"][-1]) - int(ev["t"][0])) / 1e3
    assert 290 < span_ms < 320  # README: about 311 ms
    on = float(ev["p"].mean())
    assert 0.4 < on < 0.6  # README: about half ON


@need_sample
def test_first_events_decoded_by_hand_from_the_documented_bit_layout():
    data = SAMPLE.read_bytes()
    ev = read_events(SAMPLE)
    for k in (0, 1, 2, 1000, 4324):
        b = data[5 * k:5 * k + 5]
        word = int.from_bytes(b, "big")  # 40 bits: x[39:32] y[31:24] p[23] t[22:0]
        assert ev["x"][k] == word >> 32
        assert ev["y"][k] == (word >> 24) & 0xFF
        assert ev["p"][k] == (word >> 23) & 1
        assert ev["t"][k] == word & 0x7FFFFF
    # the first event written out: bytes 07 0f 80 02 8e
    assert data[:5].hex() == "070f80028e"
    assert (ev["x"][0], ev["y"][0], ev["p"][0], ev["t"][0]) == (7, 15, 1, 0x028E)


@need_sample
def test_round_trip_and_time_binning_counts_every_event():
    data = SAMPLE.read_bytes()
    ev = read_events(SAMPLE)
    assert encode_events(ev) == data
    fr = bin_events(ev, 10, split="time")
    assert fr.shape == (10, 2, 34, 34)
    assert fr.sum() == ev.size
    assert fr[:, 1].sum() == int(ev["p"].sum())
    fr_n = bin_events(ev, 10, split="number")
    per = ev.size // 10
    assert [int(f.sum()) for f in fr_n[:9]] == [per] * 9
    assert fr_n.sum() == ev.size


def _events(rows):
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (x, y, p, t) in enumerate(rows):
        ev[i] = (x, y, p, t)
    return ev


def test_time_binning_by_hand():
    ev = _events([(0, 0, 1, 0), (1, 0, 0, 9), (2, 3, 1, 10), (33, 33, 1, 29), (5, 5, 0, 30)])
    fr = bin_events(ev, 3, split="time")  # dt = 30 // 3 = 10: [0,10) [10,20) [20,30]
    assert fr[0, 1, 0, 0] == 1 and fr[0, 0, 0, 1] == 1 and fr[0].sum() == 2
    assert fr[1, 1, 3, 2] == 1 and fr[1].sum() == 1
    assert fr[2, 1, 33, 33] == 1 and fr[2, 0, 5, 5] == 1 and fr[2].sum() == 2


def test_truncated_file_is_refused(tmp_path):
    bad = tmp_path / "cut.bin"
    bad.write_bytes(bytes.fromhex("070f80028e1312000b"))  # one event and 4 bytes
    with pytest.raises(ConfigError, match="not a whole number of 5-byte"):
        read_events(bad)


def test_corrupt_file_outside_sensor_is_refused(tmp_path):
    bad = tmp_path / "wide.bin"
    bad.write_bytes(bytes([200, 3, 0x80, 0, 1]))
    with pytest.raises(ConfigError, match="outside the 34x34 sensor"):
        read_events(bad)


def test_time_running_backwards_is_refused():
    data = bytes([1, 1, 0, 0, 9]) + bytes([1, 1, 0, 0, 3])
    with pytest.raises(ConfigError, match="backwards"):
        decode_events(data)


def test_gzip_of_an_event_file_is_refused(tmp_path):
    bad = tmp_path / "g.bin"
    bad.write_bytes(gzip.compress(bytes([1, 1, 0, 0, 9]) * 7))
    with pytest.raises(ConfigError):
        read_events(bad)


def test_missing_and_empty_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        read_events(tmp_path / "nope.bin")
    (tmp_path / "e.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="empty"):
        read_events(tmp_path / "e.bin")


@pytest.mark.parametrize("t", [0, -1])
def test_bad_frame_count_is_refused(t):
    with pytest.raises(ConfigError):
        bin_events(_events([(0, 0, 1, 0)]), t)


def test_events_at_one_pixel_and_bin_add_up():
    ev = _events([(4, 7, 1, 0), (4, 7, 1, 3), (4, 7, 0, 5), (4, 7, 1, 8), (4, 7, 1, 20)])
    fr = bin_events(ev, 2, split="time")  # dt = 10: [0,10) [10,20]
    assert fr[0, 1, 7, 4] == 3 and fr[0, 0, 7, 4] == 1 and fr[1, 1, 7, 4] == 1
    assert fr.sum() == 5
