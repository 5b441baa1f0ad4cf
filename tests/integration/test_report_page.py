"""The report page as a person sees it: the known mix's page rendered by headless Chromium to a screenshot, then
read as pixels — the four charts are on screen side by side, bars are as long as their numbers say, the labels
are drawn (fonts present), nothing spills out of the window."""

from __future__ import annotations

import subprocess
from collections import defaultdict

import pytest
from PIL import Image

from scripts.dev import report
from tests.analytics_mix import NOW, write_known_mix
from tests.browser import FLAGS, chromium

pytestmark = pytest.mark.integration
WIDTH, HEIGHT = 1280, 1100


@pytest.fixture(scope="module")
def screenshot(tmp_path_factory: pytest.TempPathFactory) -> Image.Image:
    work = tmp_path_factory.mktemp("page")
    exports = write_known_mix(work / "exports")
    page = work / "index.html"
    page.write_text(report.render_html(report.run_reports(report.connect(exports), NOW), NOW, "the known mix"))
    shot = work / "shot.png"
    # A throwaway profile.
    subprocess.run(
        [
            chromium(),
            "--headless",
            *FLAGS,
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={work / 'profile'}",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(shot).convert("RGB")


def boxes_of(image: Image.Image, colour: str, tolerance: int = 6) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (left, top, right, bottom) of the solid runs of one colour, one per bar: rows with the same
    horizontal extent that touch each other are one bar."""
    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    pixels = image.load()
    assert pixels is not None
    runs: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for y in range(image.height):
        start = None
        for x in range(image.width + 1):
            pixel = pixels[x, y] if x < image.width else None
            inside = isinstance(pixel, tuple) and all(
                abs(a - b) <= tolerance for a, b in zip(pixel, target, strict=True)
            )
            if inside and start is None:
                start = x
            elif not inside and start is not None:
                if x - start >= 3:
                    runs[y].append((start, x))
                start = None
    boxes: list[list[int]] = []
    for y in sorted(runs):
        for left, right in runs[y]:
            for box in boxes:
                if box[3] == y and abs(box[0] - left) <= 1 and abs(box[2] - right) <= 1:
                    box[3] = y + 1
                    break
            else:
                boxes.append([left, y, right, y + 1])
    return [(b[0], b[1], b[2], b[3]) for b in boxes if b[3] - b[1] >= 3]


def test_the_page_is_not_blank_and_fits_the_window(screenshot: Image.Image) -> None:
    assert screenshot.size == (WIDTH, HEIGHT)
    colours = screenshot.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None
    white = sum(n for n, c in colours if c == (255, 255, 255))
    assert white < 0.97 * WIDTH * HEIGHT and len(colours) > 50  # charts, text (anti-aliased), tables


def test_rejection_bars_are_as_long_as_their_counts_and_labelled(screenshot: Image.Image) -> None:
    bars = sorted(boxes_of(screenshot, report.REJECTION_COLOUR), key=lambda b: b[1])
    assert len(bars) == 2, bars  # size_mismatch (api) 2, truncated (kafka) 1
    (l1, t1, r1, b1), (l2, t2, r2, _) = bars
    assert l1 == l2 and t1 < t2 and abs((r1 - l1) - 2 * (r2 - l2)) <= 2
    assert l1 > WIDTH // 2 - 40 and r1 < WIDTH - 24  # the grid's right column, inside the window
    label = screenshot.crop((max(0, l1 - 190), t1, l1 - 4, b1)).convert("L")
    darkest, _ = label.getextrema()
    assert isinstance(darkest, int) and darkest < 100  # dark glyphs: the reason's label is drawn


def test_format_bars_follow_the_counts_and_sit_in_their_own_chart(screenshot: Image.Image) -> None:
    bars = sorted(boxes_of(screenshot, report.FORMAT_COLOUR), key=lambda b: b[1])
    widths = [round((b[2] - b[0]) / (bars[0][2] - bars[0][0]), 2) for b in bars]
    assert widths == [1.0, 0.5, 0.5]  # png 4, jpeg 2, webp 2
    rejections = boxes_of(screenshot, report.REJECTION_COLOUR)
    assert min(b[1] for b in bars) > max(b[3] for b in rejections)  # second row of charts, below


def test_volume_columns_stack_by_source_in_the_hours_order(screenshot: Image.Image) -> None:
    api = sorted(boxes_of(screenshot, report.SOURCE_COLOURS["api"]), key=lambda b: b[0])
    kafka = sorted(boxes_of(screenshot, report.SOURCE_COLOURS["kafka"]), key=lambda b: b[0])
    api = [b for b in api if b[2] - b[0] > 12]  # the columns, not the legend's squares
    kafka = [b for b in kafka if b[2] - b[0] > 12]
    assert len(api) == 2 and len(kafka) == 2, (api, kafka)
    heights_api = [b[3] - b[1] for b in api]  # 09h: 3, 10h: 2
    heights_kafka = [b[3] - b[1] for b in kafka]  # 09h: 1, 10h: 2
    assert abs(heights_api[0] * 2 - heights_api[1] * 3) <= 3
    assert abs(heights_kafka[0] * 2 - heights_kafka[1]) <= 3
    for column_api, column_kafka in zip(api, kafka, strict=True):
        assert column_api[0] == column_kafka[0] and abs(column_kafka[3] - column_api[1]) <= 1  # stacked


def test_latency_bars_show_the_percentiles_in_their_colours(screenshot: Image.Image) -> None:
    p50 = sorted(boxes_of(screenshot, report.PERCENTILE_COLOURS["latency_p50_ms"]), key=lambda b: b[1])
    p99 = sorted(boxes_of(screenshot, report.PERCENTILE_COLOURS["latency_p99_ms"]), key=lambda b: b[1])
    p50, p99 = [b for b in p50 if b[2] - b[0] > 12], [b for b in p99 if b[2] - b[0] > 12]
    assert len(p50) == 2 and len(p99) == 2  # api and kafka
    # kafka p99 (2000 ms) is the chart's longest bar; api p50 (300 ms) is 0.15 of it
    assert abs((p50[0][2] - p50[0][0]) / (p99[1][2] - p99[1][0]) - 0.15) < 0.01
