"""``tests/conformance/exclusions.toml`` is what ``make conformance`` lets fail: every entry names its SDK, its
reason, its tests and the errors they must fail with."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conformance.run import SUITES, counts

EXCLUSIONS = Path(__file__).resolve().parents[2] / "tests" / "conformance" / "exclusions.toml"


def test_every_exclusion_has_an_sdk_a_reason_and_tests() -> None:
    entries = tomllib.loads(EXCLUSIONS.read_text())["exclude"]
    assert entries
    for entry in entries:
        assert entry["sdk"] in SUITES, entry
        assert len(entry["reason"]) > 20, entry
        assert entry["tests"] and all(p.startswith("tests/api_resources/") for p in entry["tests"]), entry
        assert set(entry) <= {"sdk", "reason", "tests", "raises", "unless"}, entry


def test_every_exclusion_of_an_endpoint_the_gateway_serves_says_how_it_is_refused() -> None:
    """An excluded test must fail with the error its reason names, not with anything at all."""
    entries = tomllib.loads(EXCLUSIONS.read_text())["exclude"]
    for entry in entries:
        assert entry.get("raises"), entry["reason"]
        assert all(name.endswith("Error") for name in entry["raises"]), entry


def test_counts_reads_modes_and_outcomes(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        "<testsuites><testsuite>"
        '<testcase name="test_a[loose]"/>'
        '<testcase name="test_a[strict]"><failure message="x"/></testcase>'
        '<testcase name="test_b[aiohttp]"><skipped type="pytest.xfail" message="excluded"/></testcase>'
        '<testcase name="test_c[strict]"><skipped type="pytest.skip" message="no"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert counts(report) == {
        ("loose", "passed"): 1,
        ("strict", "failed"): 1,
        ("strict", "excluded"): 1,
        ("strict", "skipped"): 1,
    }
