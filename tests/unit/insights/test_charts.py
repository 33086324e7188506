"""bot.insights.charts: the PNG is valid, sized as promised and survives degenerate data."""

from __future__ import annotations

import struct
import subprocess
import sys
import threading
import warnings
import zlib

import pytest

from bot.insights.charts import HEIGHT_PX, WIDTH_PX, trend_chart_png

LABELS = [f"W{w}" for w in range(40, 48)]
NPS = [32, 18.4, None, -12, -3, 0, 41, 100]
VOLUME = [120, 95, 0, 140, 88, 102, 130, 150]


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG spec requires to come first."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    length, ctype = struct.unpack(">I4s", png[8:16])
    assert (length, ctype) == (13, b"IHDR")
    assert struct.unpack(">I", png[29:33])[0] == zlib.crc32(png[12:29])  # chunk type + data
    return struct.unpack(">II", png[16:24])


def chunk_types(png: bytes) -> list[bytes]:
    out, pos = [], 8
    while pos < len(png):
        length, ctype = struct.unpack(">I4s", png[pos:pos + 8])
        out.append(ctype)
        pos += 12 + length
    assert pos == len(png)
    return out


def test_renders_a_valid_png_of_the_promised_size() -> None:
    png = trend_chart_png(LABELS, NPS, VOLUME, title="NPS trend — Success, last 8 weeks")
    assert png.startswith(b"\x89PNG")
    assert png_size(png) == (WIDTH_PX, HEIGHT_PX) == (900, 450)
    types = chunk_types(png)
    assert types[0] == b"IHDR" and types[-1] == b"IEND" and b"IDAT" in types


def test_same_input_gives_the_same_bytes() -> None:
    a = trend_chart_png(LABELS, NPS, VOLUME, title="t")
    assert a == trend_chart_png(LABELS, NPS, VOLUME, title="t")
    assert a != trend_chart_png(LABELS, NPS[:-1] + [99], VOLUME, title="t")


@pytest.mark.parametrize(("labels", "nps", "volume"), [
    (LABELS, [None] * 8, VOLUME),               # no NPS at all: just the bars and a note
    (LABELS, NPS, [0] * 8),                     # no volume: the left axis must not collapse
    (LABELS, [None] * 8, [0] * 8),
    (["W47"], [100.0], [3]),                    # a single period, at the top of the scale
    (["W47"], [-100.0], [0]),
    ([], [], []),                               # nothing at all
    ([f"W{i}" for i in range(1, 53)], [(i * 37) % 201 - 100 for i in range(52)], [i * 40 for i in range(52)]),
    (LABELS, [float("nan")] * 8, VOLUME),       # NaN counts as a gap, like None
])
def test_degenerate_data_renders_without_warnings(labels: list, nps: list, volume: list) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. matplotlib's "Attempting to set identical low and high ylims"
        png = trend_chart_png(labels, nps, volume, title="Edge case")
    assert png_size(png) == (900, 450)


@pytest.mark.parametrize(("labels", "nps", "volume"), [
    (LABELS, NPS[:-1], VOLUME),
    (LABELS, NPS, VOLUME + [1]),
    (LABELS[:-1], NPS, VOLUME),
])
def test_mismatched_lengths_raise(labels: list, nps: list, volume: list) -> None:
    with pytest.raises(ValueError, match="same length"):
        trend_chart_png(labels, nps, volume, title="x")


@pytest.mark.parametrize(("nps", "volume", "match"), [
    ([101] + NPS[1:], VOLUME, "between -100 and 100"),
    ([-100.5] + NPS[1:], VOLUME, "between -100 and 100"),
    (NPS, [-1] + VOLUME[1:], "negative"),
])
def test_out_of_range_values_raise(nps: list, volume: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        trend_chart_png(LABELS, nps, volume, title="x")


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, bot.insights.charts; print(any(m.split('.')[0] == 'matplotlib' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_does_not_touch_pyplot() -> None:
    code = ("import sys, bot.insights.charts; bot.insights.charts.trend_chart_png(['W1'], [5], [1], title='x'); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_renders_concurrently_from_worker_threads() -> None:
    expected = trend_chart_png(LABELS, NPS, VOLUME, title="threads")
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(trend_chart_png(LABELS, NPS, VOLUME, title="threads"))
        except BaseException as e:  # pragma: no cover - surfaced by the assert below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert results == [expected] * 4
