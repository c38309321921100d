"""``python -m bench.ratelimit``: what a key's rate limits add to each request, per store.

Admission (``RateLimiter.admit``) plus release (the usage record's ``submitted``) for a key with rpm,
tpm and max_parallel set, sequentially: process memory (``ob1gw serve``) and DynamoDB through moto's
server on 127.0.0.1 (``ob1_gateway.cli.local_aws``, the table from template.yaml). Prints a markdown table.
moto answers from a Python dict in ~1 ms; real DynamoDB answers a conditional UpdateItem in single-digit
milliseconds inside a region, which is the figure to expect on Lambda (bench/README.md)."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path

from ob1_gateway.access.keys import issue_key
from ob1_gateway.access.rate_limits import RateLimiter
from ob1_gateway.cli import local_aws as devstack
from ob1_gateway.stores.aws.aws_rates import DynamoRateStore
from ob1_gateway.stores.base import KeyPolicy, RateStore, UsageRecord
from ob1_gateway.stores.local.memory_rates import MemoryRateStore

from bench.stats import fmt, markdown_table, percentile

ROOT = Path(__file__).resolve().parent.parent


async def _measure(store: RateStore, n: int) -> tuple[list[float], list[float]]:
    limiter = RateLimiter(store)
    record, _ = issue_key("bench", policy=KeyPolicy(rpm=10**9, tpm=10**12, max_parallel=1000))
    admits, releases = [], []
    for _ in range(n):
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        await limiter.admit(record, request_id)
        admits.append((time.perf_counter() - started) * 1000)
        usage = UsageRecord(request_id, record.key_id, "m", "/v1/messages", False, 200, 100, 20)
        started = time.perf_counter()
        await limiter._call(limiter.store_release, usage)  # what submitted() schedules
        releases.append((time.perf_counter() - started) * 1000)
    return admits, releases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="requests per store")
    args = parser.parse_args()
    with devstack.running_moto() as endpoint:
        table = devstack.create_gateway_table(devstack.load_template(ROOT / "template.yaml"), endpoint)
        stores: dict[str, RateStore] = {
            "process memory (ob1gw serve)": MemoryRateStore(),
            "DynamoDB via moto (Lambda)": DynamoRateStore(devstack.aws("dynamodb", endpoint), table),
        }
        rows = []
        for name, store in stores.items():
            admits, releases = asyncio.run(_measure(store, args.n))
            rows.append(
                [
                    name,
                    f"{fmt(percentile(admits, 50))} / {fmt(percentile(admits, 99))}",
                    f"{fmt(percentile(releases, 50))} / {fmt(percentile(releases, 99))}",
                ]
            )
        print(
            markdown_table(["rate store", "admit p50 / p99 (ms)", "release p50 / p99 (ms, after the response)"], rows)
        )
        print(f"\n{args.n} sequential requests per store, key with rpm, tpm and max_parallel set.")


if __name__ == "__main__":
    main()
