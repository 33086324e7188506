"""The dashboard's server-side SVG charts: well-formed, labelled for people and tests, escaped, and with
every value printed on the chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.insights.svg import category_mix_svg, detractor_age_svg, nps_trend_svg, themes_svg

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert("x")</script> & co'


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def assert_labelled(root: ET.Element, name: str) -> None:
    assert root.get("role") == "img"
    assert root.get("data-chart") == name
    assert root.get("aria-label")
    assert root.find(f"{SVG}title").text == root.get("aria-label")


EMPTY_CASES = [
    (nps_trend_svg, [], "nps-trend", "No weeks in this range"),
    (category_mix_svg, [], "category-mix", "No items in this range"),
    (category_mix_svg, [("NPS", {"detractor": 0})], "category-mix", "No items in this range"),
    (detractor_age_svg, [], "detractor-age", "No open detractors"),
    (detractor_age_svg, [("< 1 day", 0), ("4+ weeks", 0)], "detractor-age", "No open detractors"),
    (themes_svg, [], "themes", "No theme rose or fell"),
    (themes_svg, [("pricing", 3, 3)], "themes", "No theme rose or fell"),
]


@pytest.mark.parametrize(("render", "data", "name", "message"), EMPTY_CASES)
def test_empty_data_says_so(render, data, name, message) -> None:
    root = parse(render(data))
    assert_labelled(root, name)
    assert message in texts(root)


def test_nps_trend_with_one_week_prints_its_nps_and_volume() -> None:
    root = parse(nps_trend_svg([("2026-W47", 12, 37)]))
    assert_labelled(root, "nps-trend")
    shown = texts(root)
    assert "+12" in shown and "37" in shown and "W47" in shown
    assert len(root.findall(f"{SVG}circle")) == 1
    assert root.findall(f"{SVG}polyline") == []  # one point: nothing to join
    assert "2026-W47: NPS +12, 37 items" in root.get("aria-label")


def test_nps_trend_breaks_the_line_over_weeks_without_nps() -> None:
    points = [("2026-W40", -20, 5), ("2026-W41", 0, 4), ("2026-W42", None, 2), ("2026-W43", 50, 8),
              ("2026-W44", 100, 9)]
    root = parse(nps_trend_svg(points))
    lines = root.findall(f"{SVG}polyline")
    assert [len(line.get("points").split()) for line in lines] == [2, 2]
    shown = texts(root)
    assert {"-20", "0", "+50", "+100"} <= set(shown)
    assert {"5", "4", "2", "8", "9"} <= set(shown)  # every week's volume, the NPS-less one too
    assert "2026-W42: NPS none, 2 items" in root.get("aria-label")


def test_nps_trend_without_any_nps_response() -> None:
    root = parse(nps_trend_svg([("2026-W46", None, 3), ("2026-W47", None, 0)]))
    assert "No NPS responses in this range" in texts(root)
    assert root.findall(f"{SVG}circle") == []


def test_nps_trend_of_a_year_stays_readable() -> None:
    """A year of weeks fits a page-wide chart at about its own size (1 SVG unit ≈ 1 px on a laptop),
    with every other week labelled; each week keeps its point, its bar and a hover title."""
    points = [(f"2026-W{n:02d}", (n * 7) % 201 - 100, n) for n in range(1, 53)]
    root = parse(nps_trend_svg(points))
    circles = root.findall(f"{SVG}circle")
    assert len(circles) == 52 and len(root.findall(f"{SVG}rect")) == 52
    assert circles[0].find(f"{SVG}title").text == "2026-W01: NPS -93, 1 items"
    assert int(root.get("viewBox").split()[2]) <= 1300
    shown = texts(root)
    assert "W01" in shown and "W03" in shown and "W52" in shown and "W02" not in shown
    assert sum(1 for t in shown if t.startswith("W")) == 27


def test_a_trend_across_new_year_names_the_years() -> None:
    points = [(f"2025-W{n:02d}", 5, 3) for n in range(40, 53)] + [(f"2026-W{n:02d}", 5, 3) for n in range(1, 11)]
    shown = [t for t in texts(parse(nps_trend_svg(points))) if "W" in t]
    assert shown[0] == "2025-W40" and "2026-W01" in shown and "W02" in shown and "W01" not in shown


def test_nps_trend_of_a_quarter_labels_every_week() -> None:
    points = [(f"2026-W{n:02d}", 10, n) for n in range(1, 14)]
    shown = texts(parse(nps_trend_svg(points)))
    assert [t for t in shown if t.startswith("W")] == [f"W{n:02d}" for n in range(1, 14)]


def test_category_mix_prints_counts_and_totals() -> None:
    root = parse(category_mix_svg([("NPS", {"detractor": 30, "passive": 20, "promoter": 50}),
                                   ("Escalation", {"none": 7})]))
    assert_labelled(root, "category-mix")
    shown = texts(root)
    assert {"30 (30%)", "20 (20%)", "50 (50%)", "100", "7", "NPS", "Escalation"} <= set(shown)
    assert "NPS: 30 detractors, 20 passives, 50 promoters" in root.get("aria-label")


def test_detractor_age_prints_every_bucket() -> None:
    root = parse(detractor_age_svg([("< 1 day", 4), ("1–3 days", 0), ("4+ weeks", 11)]))
    assert_labelled(root, "detractor-age")
    shown = texts(root)
    assert {"4", "0", "11", "< 1 day", "1–3 days", "4+ weeks"} <= set(shown)


def test_themes_show_change_and_both_counts() -> None:
    root = parse(themes_svg([("pricing", 3, 8), ("slow_support", 10, 4)]))
    assert_labelled(root, "themes")
    shown = texts(root)
    assert {"+5 (3 → 8)", "-6 (10 → 4)", "pricing", "slow support"} <= set(shown)


@pytest.mark.parametrize("markup", [
    themes_svg([(EVIL, 1, 4)]),
    category_mix_svg([(EVIL, {"detractor": 2})]),
    detractor_age_svg([(EVIL, 3)]),
    nps_trend_svg([(EVIL, 10, 3)], title=EVIL),
])
def test_names_are_escaped(markup: str) -> None:
    assert "<script" not in markup
    assert "&lt;script&gt;" in markup
    root = parse(markup)
    # Escaped text reads back as what it was: the name is shown, not run.
    assert any("<script>" in text for text in texts(root)) or "<script>" in root.get("aria-label")


def test_a_year_of_theme_changes_keeps_figures_clear_of_the_theme_names() -> None:
    """A year's counts make long figures ("-104 (6181 → 6077)"): a falling bar's figure, drawn to its left,
    must end before the column of theme names (right-aligned at their x), at about 7.5 px a character."""
    changes = [("reliability", 3162, 3245), ("performance", 6181, 6077), ("bugs", 6230, 6133)]
    root = parse(themes_svg(changes))
    names = [t for t in root.iter(f"{SVG}text") if (t.text or "") in ("performance", "bugs", "reliability")]
    names_end = max(float(t.get("x")) for t in names)
    for text in root.iter(f"{SVG}text"):
        if (text.text or "").startswith("-"):
            assert text.get("text-anchor") == "end"
            assert float(text.get("x")) - 7.5 * len(text.text) >= names_end + 4, text.text
