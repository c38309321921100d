"""``tests/conformance/exclusions.toml`` is what ``make conformance`` lets fail: every entry names its SDK, its
reason and its tests, and the stored-responses group stays separate for issue 21 to remove."""

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


def test_stored_responses_are_one_group_of_their_own() -> None:
    entries = tomllib.loads(EXCLUSIONS.read_text())["exclude"]
    issue_21 = [e for e in entries if "issue 21" in e["reason"]]
    assert [e["reason"] for e in issue_21] == ["stored responses: issue 21"]
    assert all("responses" in p for p in issue_21[0]["tests"])


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
