"""Cost precedence: upstream ``usage.cost``, then listed pricing, then the configured table."""

from __future__ import annotations

from ob1_gateway.metering.pricing import cost_usd, to_micros
from ob1_gateway.translate.token_usage import Usage

USAGE = Usage(prompt_tokens=1000, completion_tokens=100, cache_read_tokens=200, cache_write_tokens=300)


def test_upstream_cost_wins() -> None:
    assert cost_usd(Usage(prompt_tokens=10, cost_usd=0.25), {"prompt": 1.0}, {"input": 9.0}) == 0.25


def test_listed_pricing_prices_each_token_kind() -> None:
    listed = {"prompt": 3e-6, "completion": 15e-6, "input_cache_read": 0.3e-6, "input_cache_write": 3.75e-6}
    expected = 500 * 3e-6 + 100 * 15e-6 + 200 * 0.3e-6 + 300 * 3.75e-6
    assert abs(cost_usd(USAGE, listed) - expected) < 1e-12


def test_table_is_per_million_and_cache_defaults_to_input_rate() -> None:
    expected = (500 + 200 + 300) * 2 / 1e6 + 100 * 10 / 1e6
    assert abs(cost_usd(USAGE, {}, {"input": 2.0, "output": 10.0}) - expected) < 1e-12


def test_unpriced_is_zero_and_micros_round() -> None:
    assert cost_usd(USAGE, None, None) == 0.0
    assert to_micros(0.0000015) == 2 and to_micros(1.2345674) == 1234567
