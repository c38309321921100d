"""``python -m bench``: the whole benchmark in one run; prints a markdown table (see bench/README.md)."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import coldstart, translator
from bench.stats import fmt, markdown_table, median, percentile

ROOT = Path(__file__).resolve().parent.parent
LITELLM_SPEC = "litellm[proxy]>=1.70,<2"
MODEL = "bench-model"
ANTHROPIC_BODY = {
    "model": MODEL,
    "max_tokens": 256,
    "system": "You are terse.",
    "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
}
OPENAI_BODY = {
    "model": MODEL,
    "max_tokens": 256,
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Say hello in one short sentence."},
    ],
}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(
    url: str, headers: dict[str, str] | None = None, body: dict | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={**(headers or {}), "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:
        return 0, str(exc).encode()


def wait_http(url: str, headers: dict[str, str], proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        status, _ = http(url, headers, timeout=5)
        if status == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"not ready after {timeout:.0f}s")


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """The process's resident memory now, or its peak so far with ``field="VmHWM"``; with its child
    processes' added (``ob1gw serve --workers N`` is a small supervisor and N workers)."""
    total = None
    for one in (pid, *child_pids(pid)):
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total = (total or 0.0) + int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def proc_stat(pid: int | str) -> list[str]:
    """/proc/PID/stat's fields after the command name (the state first, then the parent's pid...), or []
    for a process that is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    return [int(p.name) for p in Path("/proc").glob("[0-9]*") if proc_stat(p.name)[1:2] == [str(pid)]]


@dataclass
class Target:
    name: str
    port: int
    headers: dict[str, str]
    proc: subprocess.Popen | None = None
    rss_mb: float | None = None
    error: str | None = None


@dataclass
class Results:
    latency: dict[tuple[str, str], list[list[float]]] = field(default_factory=dict)  # (route, target) -> rounds
    ttfb: dict[tuple[str, str], list[list[float]]] = field(default_factory=dict)
    rps: dict[tuple[str, str, int], list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


class LoadGen:
    """The load generator process (bench/loadgen.py), one JSON job per line."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("load generator died")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


# --- servers -----------------------------------------------------------------------------------------


def start_upstream(key: str, delay: float = 0.0) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.upstream", "--port", "0", "--key", key, "--delay", str(delay)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        raise RuntimeError("bench upstream did not start")
    return proc, int(line.split()[1])


def start_gateway(upstream_port: int, upstream_key: str, home: Path, **settings: str) -> Target:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OB1GW_")}
    env |= {f"OB1GW_{name.upper()}": value for name, value in settings.items()}
    env |= {
        "OB1GW_HOME": str(home),
        "OB1GW_BACKEND": "local",
        "OB1GW_UPSTREAM_URL": f"http://127.0.0.1:{upstream_port}/v1",
        "OB1GW_UPSTREAM_API_KEY": upstream_key,
        "OB1GW_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "ob1_gateway.cli"]
    created = subprocess.run(
        [*cli, "keys", "create", "bench", "--json"], env=env, capture_output=True, text=True, check=True
    )
    key = json.loads(created.stdout)["key"]
    port = free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    target = Target("ob1-gateway", port, {"x-api-key": key, "anthropic-version": "2023-06-01"}, proc)
    wait_http(f"http://127.0.0.1:{port}/v1/models", {"Authorization": f"Bearer {key}"}, proc, 60)
    status, body = http(f"http://127.0.0.1:{port}/v1/messages", target.headers, ANTHROPIC_BODY)
    if status != 200:
        raise RuntimeError(f"gateway /v1/messages answered {status}: {body[:200]!r}")
    target.rss_mb = rss_mb(proc.pid)
    return target


def litellm_python(venv: Path, install: bool) -> Path:
    """The LiteLLM venv's python, creating the venv and installing LiteLLM if it is missing."""
    python = venv / "bin" / "python"
    if (venv / "bin" / "litellm").exists():
        return python
    if not install:
        raise RuntimeError(f"no LiteLLM in {venv} (run without --no-install-litellm to install it)")
    log(f"installing {LITELLM_SPEC} into {venv} (once; takes a minute or two)")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", LITELLM_SPEC], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["pip failed"]
        raise RuntimeError(f"pip install {LITELLM_SPEC} failed: {tail[0][:200]}")
    return python


def start_litellm(venv: Path, install: bool, upstream_port: int, upstream_key: str, workdir: Path) -> Target:
    litellm_python(venv, install)
    master = "sk-bench-" + secrets.token_hex(8)
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{upstream_port}/v1\n"
        f"      api_key: {upstream_key}\n"
        "      use_chat_completions_api: true\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  drop_params: true\n"
        "  turn_off_message_logging: true\n"
        "general_settings:\n"
        f"  master_key: {master}\n"
        "  disable_spend_logs: true\n"
        "  disable_error_logs: true\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    env |= {
        "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        "LITELLM_MODE": "PRODUCTION",
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    port = free_port()
    log_file = open(workdir / "litellm.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            str(venv / "bin" / "litellm"),
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        env=env,
        cwd=workdir,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    target = Target("LiteLLM", port, {"Authorization": f"Bearer {master}", "anthropic-version": "2023-06-01"}, proc)
    try:
        wait_http(f"http://127.0.0.1:{port}/health/liveliness", {}, proc, 180)
        for path, body in (("/v1/messages", ANTHROPIC_BODY), ("/v1/chat/completions", OPENAI_BODY)):
            status, answer = http(f"http://127.0.0.1:{port}{path}", target.headers, body)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}: {answer[:160]!r}")
    except Exception as exc:
        tail = (workdir / "litellm.log").read_text(errors="replace").strip().splitlines()[-3:]
        stop(proc)
        raise RuntimeError(f"{exc}; log: {' / '.join(tail)[:300]}") from None
    target.rss_mb = rss_mb(proc.pid)
    return target


def cpu_ticks(pid: int) -> int:
    fields = proc_stat(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0  # utime + stime


def settle(targets: list[Target], cap: float = 8.0) -> None:
    """Wait until every server process is idle (< 5% of a core over 200 ms, up to ``cap`` s), so a
    target still working off the previous load (LiteLLM keeps busy for seconds after a run at
    concurrency 64) does not steal the CPU of the next target measured on this 2-core machine."""
    pids = [t.proc.pid for t in targets if t.proc is not None]
    deadline = time.monotonic() + cap
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    while time.monotonic() < deadline:
        before = sum(cpu_ticks(p) for p in pids)
        time.sleep(0.2)
        if (sum(cpu_ticks(p) for p in pids) - before) / tick < 0.01:
            return


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- measurement -------------------------------------------------------------------------------------

ROUTES = {
    # route label -> (path on gateway/LiteLLM, body, stream)
    "chat": ("/v1/chat/completions", OPENAI_BODY, False),
    "messages": ("/v1/messages", ANTHROPIC_BODY, False),
    "messages-stream": ("/v1/messages", {**ANTHROPIC_BODY, "stream": True}, True),
}


def direct_request(route: str) -> tuple[str, dict[str, Any]]:
    """What the gateway itself sends upstream for ``route``: the same work, minus the gateway."""
    from ob1_gateway.translate.anthropic.anthropic_in import anthropic_to_chat

    path, body, _ = ROUTES[route]
    if path == "/v1/messages":
        upstream_body = anthropic_to_chat(body, upstream_model=MODEL).body
    else:
        upstream_body = {**body, "usage": {"include": True}}
    return "/v1/chat/completions", upstream_body


def job(target: Target, route: str, **extra: Any) -> dict[str, Any]:
    if target.name == "upstream":
        path, body = direct_request(route)
    else:
        path, body, _ = ROUTES[route]
    return {"host": "127.0.0.1", "port": target.port, "path": path, "body": body, "headers": target.headers, **extra}


def run_latency(gen: LoadGen, targets: list[Target], rounds: int, n: int, res: Results) -> None:
    for r in range(rounds):
        order = targets[r % len(targets) :] + targets[: r % len(targets)]  # rotate who goes first
        for route in ROUTES:
            for target in order:
                out = gen.run(job(target, route, mode="latency", n=n, concurrency=1))
                if "fatal" in out:
                    raise RuntimeError(f"{target.name} {route}: {out['fatal']}")
                res.latency.setdefault((route, target.name), []).append(out["total"])
                res.ttfb.setdefault((route, target.name), []).append(out["ttfb"])
                res.errors[target.name] = res.errors.get(target.name, 0) + out["errors"]
        log(f"latency round {r + 1}/{rounds} done")


def run_rps(gen: LoadGen, targets: list[Target], rounds: int, seconds: float, levels: list[int], res: Results) -> None:
    for r in range(rounds):
        for level in levels:
            order = targets[r % len(targets) :] + targets[: r % len(targets)]
            for route in ("chat", "messages", "messages-stream"):
                for target in order:
                    settle(targets)
                    out = gen.run(
                        job(target, route, mode="rps", seconds=seconds, concurrency=level, warmup=min(0.5, seconds / 2))
                    )
                    if "fatal" in out:
                        raise RuntimeError(f"{target.name} {route}: {out['fatal']}")
                    res.rps.setdefault((route, target.name, level), []).append(out["rps"])
                    res.errors[target.name] = res.errors.get(target.name, 0) + out["errors"]
        log(f"throughput round {r + 1}/{rounds} done")


# --- report ------------------------------------------------------------------------------------------


def ms(v: float) -> float:
    return v * 1000.0


def pooled(rounds: list[list[float]]) -> list[float]:
    return [x for r in rounds for x in r]


def added(res_map: dict, route: str, name: str, p: float) -> float | None:
    """Added latency of ``name`` over the direct upstream at percentile ``p``, in ms.

    p50: the median over rounds of (p50 via target − p50 direct) in the same round (pairs adjacent
    runs, so machine noise that drifts between rounds cancels). p99: pooled p99 via − pooled p99 direct.
    """
    via, direct = res_map.get((route, name)), res_map.get((route, "upstream"))
    if not via or not direct:
        return None
    if p == 50:
        return median([ms(median(v) - median(d)) for v, d in zip(via, direct, strict=False) if v and d])
    return ms(percentile(pooled(via), p) - percentile(pooled(direct), p))


def check(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def report(
    res: Results,
    targets: list[Target],
    lite_error: str | None,
    trans: dict[str, float],
    cold: dict[str, dict[str, Any]],
    args: argparse.Namespace,
) -> str:
    names = [t.name for t in targets]
    has_lite = "LiteLLM" in names
    lite_na = f"not run: {lite_error}" if lite_error else "n/a"
    header = ["measurement", "upstream direct", "ob1-gateway", "LiteLLM", "target → status"]
    rows: list[list[str]] = []

    def lite(value: str) -> str:
        return value if has_lite else lite_na

    for route, label in (("chat", "POST /v1/chat/completions"), ("messages", "POST /v1/messages")):
        lat = res.latency
        p50 = {n: ms(percentile(pooled(lat[(route, n)]), 50)) for n in names if (route, n) in lat}
        p99 = {n: ms(percentile(pooled(lat[(route, n)]), 99)) for n in names if (route, n) in lat}
        rows.append(
            [
                f"{label} latency p50 / p99 (ms)",
                f"{fmt(p50['upstream'])} / {fmt(p99['upstream'])}",
                f"{fmt(p50['ob1-gateway'])} / {fmt(p99['ob1-gateway'])}",
                lite(f"{fmt(p50.get('LiteLLM'))} / {fmt(p99.get('LiteLLM'))}"),
                "",
            ]
        )
        gw50, gw99 = added(lat, route, "ob1-gateway", 50), added(lat, route, "ob1-gateway", 99)
        li50, li99 = added(lat, route, "LiteLLM", 50), added(lat, route, "LiteLLM", 99)
        ratio = (li50 / gw50) if (li50 and gw50 and gw50 > 0) else None
        rows.append(
            [
                f"{label} **added** latency p50 / p99 (ms)",
                "—",
                f"**{fmt(gw50)}** / {fmt(gw99)}",
                lite(f"{fmt(li50)} / {fmt(li99)}"),
                f"p50 ≤ 1 ms → {check(gw50 is not None and gw50 <= 1.0)}; "
                f"≥ 5× lower than LiteLLM → {check(None if ratio is None else ratio >= 5)}"
                + (f" ({ratio:.0f}×)" if ratio else ""),
            ]
        )
    tt = res.ttfb
    route = "messages-stream"
    t50 = {n: ms(percentile(pooled(tt[(route, n)]), 50)) for n in names if (route, n) in tt}
    rows.append(
        [
            "POST /v1/messages stream, time to first byte p50 (ms)",
            fmt(t50["upstream"]),
            fmt(t50["ob1-gateway"]),
            lite(fmt(t50.get("LiteLLM"))),
            "",
        ]
    )
    g_ttfb, l_ttfb = added(tt, route, "ob1-gateway", 50), added(tt, route, "LiteLLM", 50)
    ratio = (l_ttfb / g_ttfb) if (l_ttfb and g_ttfb and g_ttfb > 0) else None
    rows.append(
        [
            "POST /v1/messages stream, **added** TTFB p50 / p99 (ms)",
            "—",
            f"**{fmt(g_ttfb)}** / {fmt(added(tt, route, 'ob1-gateway', 99))}",
            lite(f"{fmt(l_ttfb)} / {fmt(added(tt, route, 'LiteLLM', 99))}"),
            f"≤ 2 ms → {check(g_ttfb is not None and g_ttfb <= 2.0)}"
            + (f"; {ratio:.0f}× lower than LiteLLM" if ratio else ""),
        ]
    )
    lat_s = res.latency
    s50 = {n: ms(percentile(pooled(lat_s[(route, n)]), 50)) for n in names if (route, n) in lat_s}
    rows.append(
        [
            "POST /v1/messages stream, full response p50 (ms)",
            fmt(s50["upstream"]),
            fmt(s50["ob1-gateway"]),
            lite(fmt(s50.get("LiteLLM"))),
            "",
        ]
    )
    for route, label in (
        ("chat", "chat/completions"),
        ("messages", "messages"),
        ("messages-stream", "messages stream"),
    ):
        for level in args.levels:
            vals = {n: median(res.rps[(route, n, level)]) for n in names if (route, n, level) in res.rps}
            gw, li = vals.get("ob1-gateway"), vals.get("LiteLLM")
            ratio = (gw / li) if (gw and li) else None
            rows.append(
                [
                    f"{label} requests/s at concurrency {level}",
                    fmt(vals.get("upstream"), digits=0),
                    f"**{fmt(gw, digits=0)}**",
                    lite(fmt(li, digits=0)),
                    f"≥ 3× LiteLLM → {check(None if ratio is None else ratio >= 3)}"
                    + (f" ({ratio:.1f}×)" if ratio else ""),
                ]
            )
    rows.append(
        [
            "stream translator, AnthropicStream.feed (events/s/core)",
            "—",
            f"**{fmt(trans['translate_eps'], digits=0)}**",
            "—",
            f"≥ 100,000 → {check(trans['translate_eps'] >= 100_000)}",
        ]
    )
    rows.append(
        [
            "stream pipeline, SSE decode + json + translate + encode (events/s/core)",
            "—",
            f"{fmt(trans['pipeline_eps'], digits=0)}",
            "—",
            "",
        ]
    )
    rows.append(
        [
            f"request contract + translation, Claude Code request of {trans['request_bytes'] / 1000:.0f} KB (µs CPU)",
            "—",
            f"{trans['validate_us']:.0f} + {trans['translate_request_us'] - trans['validate_us']:.0f}",
            "—",
            "",
        ]
    )
    for label, result in cold.items():
        value = result["ms"]
        heavy = ", ".join(f"{m} {t:.0f}" for m, t in result["heaviest"])
        rows.append(
            [
                f"cold start: import {label} (ms)",
                "—",
                f"**{fmt(value, digits=0)}**" if value is not None else f"failed: {result['error']}",
                "—",
                f"≤ 400 ms → {check(value is not None and value <= 400)}" + (f" (heaviest: {heavy})" if heavy else ""),
            ]
        )
    by_name = {t.name: t for t in targets}
    rows.append(
        [
            "RSS after the first request (MB)",
            fmt(None),
            fmt(by_name["ob1-gateway"].rss_mb, digits=0),
            lite(fmt(by_name["LiteLLM"].rss_mb, digits=0) if has_lite else ""),
            "",
        ]
    )
    errs = ", ".join(f"{n}: {res.errors.get(n, 0)}" for n in names)
    rows.append(["non-200 responses / errors during the run", "", "", "", errs])
    return markdown_table(header, rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer rounds and requests (~1 minute plus LiteLLM start)")
    p.add_argument("--rounds", type=int, help="latency rounds, targets interleaved (default 5, quick 3)")
    p.add_argument("-n", "--requests", type=int, help="requests per target per route per round (default 100, quick 40)")
    p.add_argument("--rps-seconds", type=float, help="seconds per throughput measurement (default 1.5, quick 0.6)")
    p.add_argument("--rps-rounds", type=int, help="throughput rounds (default 2, quick 1)")
    p.add_argument(
        "--levels",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 16, 64],
        help="concurrency levels (default 1,16,64)",
    )
    p.add_argument("--no-litellm", action="store_true", help="skip LiteLLM")
    p.add_argument(
        "--litellm-venv",
        type=Path,
        default=ROOT / ".venv-litellm",
        help="venv holding LiteLLM (created and installed if missing)",
    )
    p.add_argument("--no-install-litellm", action="store_true", help="never pip-install LiteLLM")
    p.add_argument("--save", type=Path, help="also write the table to this file")
    args = p.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (3 if quick else 5)
    args.requests = args.requests or (40 if quick else 100)
    args.rps_seconds = args.rps_seconds or (0.6 if quick else 1.5)
    args.rps_rounds = args.rps_rounds or (1 if quick else 2)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    log("stream translator throughput")
    trans = translator.measure(0.5 if args.quick else 1.5)
    log("cold start imports")
    cold = coldstart.measure(runs=3 if args.quick else 5)
    key = "sk-upstream-" + secrets.token_hex(8)
    procs: list[subprocess.Popen] = []
    workdir = Path(tempfile.mkdtemp(prefix="ob1gw-bench-"))
    lite_error: str | None = None
    gen: LoadGen | None = None
    try:
        up_proc, up_port = start_upstream(key)
        procs.append(up_proc)
        targets = [Target("upstream", up_port, {"Authorization": f"Bearer {key}"}, up_proc)]
        log("starting ob1-gateway (ob1gw serve)")
        gw = start_gateway(up_port, key, workdir / "home")
        procs.append(gw.proc)  # type: ignore[arg-type]
        targets.append(gw)
        if args.no_litellm:
            lite_error = "skipped (--no-litellm)"
        else:
            log("starting LiteLLM proxy")
            try:
                lite = start_litellm(args.litellm_venv, not args.no_install_litellm, up_port, key, workdir)
                procs.append(lite.proc)  # type: ignore[arg-type]
                targets.append(lite)
            except Exception as exc:
                lite_error = str(exc)
                log(f"LiteLLM unavailable: {lite_error}")
        gen = LoadGen()
        log("warm-up")
        for target in targets:
            for route in ROUTES:
                gen.run(job(target, route, mode="latency", n=max(10, args.requests // 4), concurrency=1))
        res = Results()
        run_latency(gen, targets, args.rounds, args.requests, res)
        run_rps(gen, targets, args.rps_rounds, args.rps_seconds, args.levels, res)
        table = report(res, targets, lite_error, trans, cold, args)
    finally:
        if gen is not None:
            gen.close()
        for proc in reversed(procs):
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    lite_version = ""
    if lite_error is None and not args.no_litellm:
        lite_version = subprocess.run(
            [
                str(args.litellm_venv / "bin" / "python"),
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
    notes = (
        f"\n\nob1-gateway = `ob1gw serve` (uvicorn, own process); LiteLLM {lite_version or '-'} proxy, 1 worker; "
        f"bench upstream = raw asyncio, zero think time; load generator in its own process. "
        f"Latency: {args.rounds} interleaved rounds × {args.requests} sequential requests per target and route; "
        f"added p50 = median over rounds of (p50 via − p50 direct), p99 = pooled. "
        f"Throughput: median of {args.rps_rounds} × {args.rps_seconds}s. "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, run took {elapsed:.0f}s."
    )
    output = table + notes
    print(output)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(output + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
