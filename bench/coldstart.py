"""Cold start: the import time of each Lambda entry module, measured in a fresh interpreter.

``python -X importtime -c "import <module>"`` runs in the function's directory with ``shared/`` on the
path and the environment template.yaml gives the function: ``AWS_LAMBDA_FUNCTION_NAME`` (so Powertools
Logger and Metrics take their Lambda paths), the aws backend (boto3; nothing is called at import, so
nothing touches AWS) and the default ``OB1GW_TRACER=off`` (``on`` adds about 100 ms: the X-Ray SDK). The
module's cumulative import time is read from the importtime report. That includes building the app at
module scope (``create_app()``), which is what a Lambda init pays. The process sees what the layer has
(``bench.layer.layer_env``: packages it does not ship are hidden, ``shared/`` is precompiled). The
median of ``runs`` fresh processes is reported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.layer import layer_env
from bench.stats import median

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = {
    "functions/api/app.py": ("functions/api", "app"),
    "functions/stream/main.py": ("functions/stream", "main"),
    "functions/token_keeper/app.py": ("functions/token_keeper", "app"),
}
FUNCTION_NAMES = {
    "functions/api/app.py": "ApiFunction",
    "functions/stream/main.py": "StreamFunction",
    "functions/token_keeper/app.py": "TokenKeeperFunction",
}
_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def cumulative_ms(report: str, module: str) -> float | None:
    """The cumulative import time of the top-level ``module`` in a ``-X importtime`` report."""
    for match in _LINE.finditer(report):
        if match.group(4) == module and len(match.group(3)) == 1:
            return int(match.group(2)) / 1000.0
    return None


def heaviest(report: str, top: int = 3) -> list[tuple[str, float]]:
    """The heaviest first-level dependencies (direct children of the entry module), by cumulative ms."""
    rows = [(m.group(4), int(m.group(2)) / 1000.0) for m in _LINE.finditer(report) if len(m.group(3)) == 3]
    return sorted(rows, key=lambda r: -r[1])[:top]


def measure(runs: int = 3) -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="ob1gw-bench-cold-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OB1GW_", "AWS_"))}
        env |= {
            "OB1GW_BACKEND": "aws",
            "OB1GW_TABLE_NAME": "bench-table",
            "OB1GW_SECRET_ID": "bench-secret",
            "OB1GW_HOME": home,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "OB1GW_LOG_LEVEL": "WARNING",
            "POWERTOOLS_SERVICE_NAME": "bench",
            "POWERTOOLS_METRICS_NAMESPACE": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        env = layer_env(env, str(ROOT / "shared"))
        for label, (folder, module) in ENTRIES.items():
            times: list[float] = []
            report = ""
            error = None
            for _ in range(runs):
                proc = subprocess.run(
                    [sys.executable, "-X", "importtime", "-c", f"import {module}"],
                    cwd=ROOT / folder,
                    env={**env, "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAMES[label]},
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                if proc.returncode != 0:
                    error = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
                    break
                report = proc.stderr
                ms = cumulative_ms(report, module)
                if ms is not None:
                    times.append(ms)
            results[label] = {
                "ms": median(times) if times else None,
                "error": error,
                "heaviest": heaviest(report) if report else [],
            }
    return results


if __name__ == "__main__":
    for name, result in measure().items():
        print(name, result)
