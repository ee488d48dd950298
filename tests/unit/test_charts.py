"""The report's hand-written SVG charts, read back as XML: well-formed, one rect per bar, labels
escaped, axes that cover the data, negative bars left of zero, ids unique per chart."""

import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest

from epbatch.report import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output; raises on anything not well-formed
    assert root.tag == f"{SVG}svg"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def ticks(root: ET.Element) -> list[float]:
    labels = [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == "tick"]
    return [float(label.replace(",", "")) for label in labels]


def zero_x(root: ET.Element) -> float:
    [line] = [p for p in root.iter(f"{SVG}path") if p.get("class") == "zero"]
    match = re.match(r"M([-\d.]+) ", line.get("d", ""))
    assert match
    return float(match.group(1))


def span(rect: ET.Element) -> tuple[float, float]:
    x = float(rect.get("x", "nan"))
    return x, x + float(rect.get("width", "nan"))


def tip(rect: ET.Element) -> str:
    title = rect.find(f"{SVG}title")
    return "" if title is None else title.text or ""


def test_one_rect_per_value_and_none_for_missing_ones():
    columns: dict[str, Any] = {"site": [1.0, None, 3.0], "heating": [float("nan"), 5.0, pd.NA]}
    root = parse(charts.multi_bars(["a", "b", "c"], columns, "savings, %", "s"))
    assert sorted(tip(r) for r in bars(root)) == [
        "a · site: 1.00",
        "b · heating: 5.00",
        "c · site: 3.00",
    ]


def test_grouped_bars_one_per_group_and_series_with_a_legend():
    frame = pd.DataFrame(
        {
            "group": ["M0 · W0", "M0 · W0", "M1 · W0", "M1 · W0", "M1 · W0"],
            "construction_set": ["baseline", "better", "baseline", "better", "best"],
            "eui": [300.0, 250.0, 320.0, None, 200.0],
        }
    )
    root = parse(charts.grouped_bars(frame, "group", "construction_set", "eui", "EUI", "eui"))
    assert len(bars(root)) == 4  # the missing one draws nothing
    assert {"M0 · W0", "M1 · W0", "construction set", "baseline", "better", "best"} <= set(
        texts(root)
    )
    fills = {tip(r).split(":")[0].split(" · ")[-1]: r.get("fill") for r in bars(root)}
    assert len(set(fills.values())) == 3  # a colour per construction set
    assert fills["baseline"] == charts.TAB10[0]


def test_labels_are_escaped_text():
    svg = charts.multi_bars(['a <&> "b"'], {"x <y>": [1.0]}, "GJ & more <", "esc")
    root = parse(svg)
    assert 'a <&> "b"' in texts(root) and "x <y>" in texts(root)
    assert "GJ & more <" in texts(root)
    assert "<&>" not in svg


def test_the_value_axis_has_round_ticks_from_zero_past_the_largest_value():
    root = parse(charts.multi_bars(["a", "b"], {"v": [3.0, 87.0]}, "GJ", "t"))
    values = ticks(root)
    assert values[0] == 0 and values[-1] >= 87 and values[-2] < 87
    steps = {round(b - a, 9) for a, b in itertools.pairwise(values)}
    assert len(steps) == 1  # evenly spaced (none left out: they fit)
    assert all(span(r)[0] == pytest.approx(zero_x(root), abs=0.15) for r in bars(root))


def test_negative_values_are_drawn_left_of_the_zero_line():
    root = parse(charts.multi_bars(["a", "b"], {"v": [-20.0, 35.0], "w": [-5.0, -1.0]}, "%", "n"))
    zero = zero_x(root)
    values = ticks(root)
    assert values[0] <= -20 and values[-1] >= 35 and 0 in values
    for rect in bars(root):
        x0, x1 = span(rect)
        if ": -" in tip(rect):
            assert x1 == pytest.approx(zero, abs=0.15) and x0 < zero
        else:
            assert x0 == pytest.approx(zero, abs=0.15) and x1 > zero


def test_negative_only_values_end_at_zero():
    root = parse(charts.multi_bars(["a", "b"], {"v": [-3.0, -12.5]}, "%", "neg"))
    values = ticks(root)
    assert values[-1] == 0 and values[0] <= -12.5
    assert all(span(r)[1] == pytest.approx(zero_x(root), abs=0.15) for r in bars(root))


def test_stacked_parts_follow_each_other_on_each_side_of_zero():
    root = parse(
        charts.stacked_bars(
            ["v1", "v2"],
            {"heating": [10.0, 4.0], "cooling": [5.0, 0.0], "generators": [-3.0, -2.0]},
            "GJ",
            "st",
        )
    )
    zero = zero_x(root)
    rects = {tip(r).split(":")[0]: span(r) for r in bars(root)}
    assert len(rects) == 5  # a part of 0 draws nothing
    heating, cooling = rects["v1 · heating"], rects["v1 · cooling"]
    assert heating[0] == pytest.approx(zero, abs=0.15)
    assert cooling[0] == pytest.approx(heating[1], abs=0.15)  # stacked right of heating
    generators = rects["v1 · generators"]
    assert generators[1] == pytest.approx(zero, abs=0.15) and generators[0] < zero
    unit = (heating[1] - heating[0]) / 10  # per GJ
    assert cooling[1] - cooling[0] == pytest.approx(5 * unit, abs=0.3)
    assert generators[1] - generators[0] == pytest.approx(3 * unit, abs=0.3)


def test_all_zero_values_still_draw_an_axis():
    root = parse(charts.multi_bars(["a", "b"], {"v": [0.0, 0.0]}, "hours", "z"))
    assert ticks(root)[0] == 0 and ticks(root)[-1] == 1
    assert [span(r)[1] - span(r)[0] for r in bars(root)] == [0.0, 0.0]


def test_a_single_bar():
    root = parse(charts.multi_bars(["only"], {"v": [42.0]}, "GJ", "one"))
    [rect] = bars(root)
    assert span(rect)[1] > span(rect)[0] and ticks(root)[-1] >= 42 and "only" in texts(root)


def test_long_labels_are_cut_with_the_whole_label_as_tooltip():
    label = "x" * 100
    root = parse(charts.multi_bars([label], {"v": [1.0]}, "GJ", "long"))
    [text] = [t for t in root.iter(f"{SVG}text") if (t.text or "").startswith("xxx")]
    assert text.text == "x" * 59 + "…"
    assert tip(text) == label


def test_charts_show_at_most_their_limits():
    labels = [f"v{i}" for i in range(1000)]
    root = parse(charts.multi_bars(labels, {"a": [1.0] * 1000, "b": [2.0] * 1000}, "GJ", "m"))
    assert len(bars(root)) == 2 * charts.MAX_BARS
    frame = pd.DataFrame(
        {"g": [f"g{i // 10}" for i in range(1000)], "s": [f"s{i % 10}" for i in range(1000)]}
    )
    frame["v"] = 1.0
    root = parse(charts.grouped_bars(frame, "g", "s", "v", "EUI", "g"))
    assert len(bars(root)) == charts.MAX_GROUPS * 10


def test_more_than_ten_series_take_twenty_colours():
    parts: dict[str, Sequence[float]] = {f"use {i}": [1.0] for i in range(14)}
    root = parse(charts.stacked_bars(["v"], parts, "GJ", "c"))
    assert len({r.get("fill") for r in bars(root)}) == 14
    assert {r.get("fill") for r in bars(root)} <= set(charts.TAB20)


def test_the_salt_keeps_ids_apart_when_charts_share_a_page():
    first = charts.multi_bars(["a"], {"v": [1.0]}, "GJ", "eui")
    second = charts.multi_bars(["a"], {"v": [1.0]}, "GJ", "savings")
    ids = [i for svg in (first, second) for e in parse(svg).iter() if (i := e.get("id"))]
    assert ids and len(ids) == len(set(ids))
    assert all(i.startswith(("eui-", "savings-")) for i in ids)
    for svg in (first, second):  # each id it refers to is its own
        root = parse(svg)
        own = {e.get("id") for e in root.iter()}
        assert set(root.get("aria-labelledby", "").split()) <= own


@pytest.mark.parametrize(
    ("lo", "hi"),
    [(0, 87), (-850, 95), (-12.5, 0), (0.001, 0.036), (0, 0), (310, 498), (5, 5), (0, 1e6)],
)
def test_nice_ticks_are_one_two_or_five_steps_covering_the_range(lo: float, hi: float):
    values = charts.nice_ticks(lo, hi)
    assert values[0] <= lo and values[-1] >= hi and 2 <= len(values) <= 12
    step = values[1] - values[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-6
    assert all(b - a == pytest.approx(step) for a, b in itertools.pairwise(values))
    if lo <= 0 <= hi:
        assert 0 in values


def test_scatter_grid_one_point_per_variant_with_both_values():
    frame = pd.DataFrame(
        {
            "wall_r": [1.0, 2.0, 3.0, None],
            "level": ["low", "high", "low", "high"],  # not numbers
            "eui_mj_m2": [300.0, 280.0, float("nan"), 250.0],
        }
    )
    root = parse(charts.scatter_grid(frame, ["eui_mj_m2"], ["wall_r", "level"], "sc"))
    [points] = [p for p in root.iter(f"{SVG}path") if p.get("class") == "points"]
    assert points.get("d", "").count("M") == 2  # rows 0 and 1: the others miss a value
    assert "no numbers" in texts(root)  # the panel of the text parameter
    assert {"wall_r", "level", "eui_mj_m2"} <= set(texts(root))
    y_ticks = [
        float(t.text or "")
        for t in root.iter(f"{SVG}text")
        if t.get("class") == "tick" and t.get("text-anchor") == "end"
    ]
    assert len(y_ticks) >= 2 and all(247.5 <= t <= 302.5 for t in y_ticks)  # 5 % margins
