"""The benchmark's arithmetic and table (the benchmark itself is run by hand: ``python -m bench``)."""

from __future__ import annotations

import math

from bench.coldstart import cumulative_ms, heaviest
from bench.stats import markdown_table, median, percentile


def test_percentile_interpolates_and_handles_edges() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 5.0
    assert median(values) == 3.0
    assert percentile([1.0, 2.0], 50) == 1.5
    assert percentile(list(range(101)), 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_markdown_table_shape_and_escaping() -> None:
    table = markdown_table(["a", "b"], [["1", "x|y"], ["2"]]).splitlines()
    assert table[0] == "| a | b |"
    assert table[1] == "|---|---|"
    assert table[2] == "| 1 | x\\|y |"
    assert table[3] == "| 2 |  |"


def test_importtime_report_parsing() -> None:
    report = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       100 |        150 |   json\n"
        "import time:      2000 |       9000 |   ob1_gateway.app\n"
        "import time:       500 |      12000 | app\n"
    )
    assert cumulative_ms(report, "app") == 12.0
    assert cumulative_ms(report, "json") is None  # only the top-level entry counts
    assert heaviest(report, 1) == [("ob1_gateway.app", 9.0)]
