"""``python -m bench.lambda_cost``: what one streamed request costs the stream function, and the bill.

Runs StreamFunction as deployed (``functions/stream/run.sh``: uvicorn on the app, the AWS backend on a
moto server holding the template's table and secret, Powertools on as in Lambda, only the packages the
layer has and their bytecode: ``bench.layer``) in front of the bench
upstream, then sends it ``--requests`` streamed ``POST /v1/messages`` one after another (a Lambda
execution environment serves one request at a time). Measured on the process: CPU time and wall time of
init (spawn until ``/health`` answers, what LWA waits for), CPU time per request, peak RSS.

Lambda gives a function CPU in proportion to its memory (1,769 MB = one vCPU), so each ``MemorySize``
row scales the measured CPU by that share: the wall time the CPU work would take there. The bill uses
public us-east-1 prices (x86): Lambda $0.0000166667 per GB-second and $0.20 per million requests,
API Gateway REST $3.50 per million requests; a streamed request is billed for its whole duration
(``--stream-seconds``, 20 s by default: the model's time, not ours)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.__main__ import ANTHROPIC_BODY, ROOT, cpu_ticks, free_port, log, rss_mb, start_upstream, stop
from bench.layer import layer_env
from bench.stats import markdown_table, median

LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_PER_REQUEST = 0.20 / 1e6
APIGW_REST_PER_REQUEST = 3.50 / 1e6
MB_PER_VCPU = 1769
TICKS = os.sysconf("SC_CLK_TCK")
MEMORY_SIZES = (256, 512, 1024, 1769)


def start_stream_function(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, float, float]:
    """The process, its base URL, and init's wall and CPU seconds."""
    port = free_port()
    env = {**env, "AWS_LWA_PORT": str(port), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    run_sh = str(ROOT / "functions" / "stream" / "run.sh")
    proc = subprocess.Popen(["bash", run_sh], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    while True:  # LWA's readiness check
        if proc.poll() is not None:
            raise RuntimeError(f"the stream function exited with {proc.returncode}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    return proc, base, time.perf_counter() - started, cpu_ticks(proc.pid) / TICKS


def stream_once(client: httpx.Client, base: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    with client.stream("POST", base + "/v1/messages", json={**ANTHROPIC_BODY, "stream": True}, headers=headers) as r:
        if r.status_code != 200:
            raise RuntimeError(f"/v1/messages answered {r.status_code}: {r.read()[:200]!r}")
        body = b"".join(r.iter_bytes())
    if b"message_stop" not in body:
        raise RuntimeError(f"the stream did not end with message_stop: {body[-200:]!r}")
    return time.perf_counter() - started


def cost_per_1000(memory_mb: int, seconds: float) -> float:
    return 1000 * (memory_mb / 1024 * seconds * LAMBDA_GB_SECOND + LAMBDA_PER_REQUEST + APIGW_REST_PER_REQUEST)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--stream-seconds", type=float, default=20.0, help="billed duration of one stream")
    args = parser.parse_args(argv)

    from ob1_gateway.cli.local_aws import DevStack

    upstream_key = "bench-upstream-key"
    upstream, upstream_port = start_upstream(upstream_key)
    stack = DevStack.start(ROOT / "template.yaml", host="127.0.0.1", port=free_port())
    proc = None
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OB1GW_")} | stack.cli_env()
        env |= {"OB1GW_UPSTREAM_URL": f"http://127.0.0.1:{upstream_port}/v1", "OB1GW_UPSTREAM_API_KEY": upstream_key}
        cli = [sys.executable, "-m", "ob1_gateway.cli", "keys", "create", "bench", "--json"]
        key = json.loads(subprocess.run(cli, env=env, capture_output=True, text=True, check=True).stdout)["key"]
        env |= {  # what template.yaml gives StreamFunction
            "AWS_LAMBDA_FUNCTION_NAME": "StreamFunction",
            "POWERTOOLS_SERVICE_NAME": "ob1-gateway",
            "OB1GW_LOG_LEVEL": "WARNING",
        }
        env = layer_env(env, str(ROOT / "shared"))  # only what the layer has, precompiled
        proc, base, init_wall, init_cpu = start_stream_function(env)
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        with httpx.Client(timeout=60) as client:
            first = stream_once(client, base, headers)  # the cold request: key lookup, model list, boto3 pools
            walls = []
            before = cpu_ticks(proc.pid)
            for _ in range(args.requests):
                walls.append(stream_once(client, base, headers))
            cpu_per_request = (cpu_ticks(proc.pid) - before) / TICKS / args.requests
        peak_rss = rss_mb(proc.pid, "VmHWM") or 0.0
    finally:
        stop(proc)
        stack.stop()
        stop(upstream)

    print(f"\n## StreamFunction as deployed, {args.requests} streams one at a time (bench upstream, moto)\n")
    print(f"- init (spawn until /health answers): {init_wall * 1000:.0f} ms wall, {init_cpu * 1000:.0f} ms CPU")
    print(f"- first request after init: {first * 1000:.0f} ms; later ones: median {median(walls) * 1000:.1f} ms")
    print(f"- CPU per streamed request: {cpu_per_request * 1000:.1f} ms; peak RSS {peak_rss:.0f} MB\n")
    rows = []
    for size in MEMORY_SIZES:
        share = min(size / MB_PER_VCPU, 1.0)
        rows.append(
            [
                str(size),
                f"{share:.2f}",
                f"{init_cpu / share * 1000:,.0f}",
                f"{cpu_per_request / share * 1000:.1f}",
                f"{size - peak_rss:,.0f}",
                f"${cost_per_1000(size, args.stream_seconds):.4f}",
            ]
        )
    header = [
        "MemorySize MB",
        "vCPU",
        "init CPU → wall ms",
        "CPU per stream → wall ms",
        "memory headroom MB",
        f"cost per 1,000 ({args.stream_seconds:g} s streams)",
    ]
    print(markdown_table(header, rows))
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
