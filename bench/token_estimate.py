"""``python -m bench.token_estimate``: how far the gateway's local token estimate (``translate/token_count.py``,
about 4 characters a token) is from real tokenizers, on real requests and the repository's own text.

The gateway refuses a request before any upstream call only when its estimate is *clearly* past the model's
context (``api/pipeline.py``); "clearly" is the largest over-estimate measured here, with room to spare. The
real counts come from two BPE tokenizers shipped inside LiteLLM's wheel (Anthropic's published tokenizer and
OpenAI's o200k_base), fetched from the package registry on first run: ``pip download litellm --no-deps``. They
count the text alone — what the upstream counts is more (message framing, tool schemas rendered into a prompt)
— so the ratio estimate / text tokens is an upper bound of how much the estimate over-counts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ob1_gateway.translate.anthropic.anthropic_in import anthropic_to_chat
from ob1_gateway.translate.invalid import InvalidRequest
from ob1_gateway.translate.token_count import estimate_chat_tokens

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(tempfile.gettempdir()) / "ob1gw-bench-tokenizers"
_FILES = "litellm/litellm_core_utils/tokenizers/"


def tokenizers() -> dict[str, Any]:
    """{name: text -> token count} for Anthropic's tokenizer and o200k_base."""
    if not (CACHE / "anthropic_tokenizer.json").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "litellm", "--no-deps", "-q", "-d", str(CACHE)], check=True
        )
        wheel = next(CACHE.glob("litellm-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith(_FILES) and not name.endswith("/"):
                    (CACHE / name.removeprefix(_FILES)).write_bytes(archive.read(name))
    os.environ["TIKTOKEN_CACHE_DIR"] = str(CACHE)  # the wheel's files are tiktoken's cache, named as it names them
    try:
        import tiktoken
        from tokenizers import Tokenizer
    except ImportError:
        raise SystemExit("bench.token_estimate needs the tokenizers: pip install tiktoken tokenizers") from None

    anthropic = Tokenizer.from_file(str(CACHE / "anthropic_tokenizer.json"))
    o200k = tiktoken.get_encoding("o200k_base")
    return {
        "anthropic": lambda text: len(anthropic.encode(text).ids),
        "o200k": lambda text: len(o200k.encode(text, disallowed_special=())),
    }


def _texts(value: Any) -> Iterator[str]:
    """Every string of a chat body's messages and tools (what the estimate counts, as the tokenizer sees it)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in ("type", "role", "model", "stream", "max_tokens", "stream_options", "cache_control"):
                yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def samples() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind, name, chat body): the recorded client requests, then the repository's files as a tool result."""
    for path in sorted((REPO / "tests" / "fixtures" / "clients").glob("*.json")):
        for i, request in enumerate(json.loads(path.read_text()).get("requests", [])):
            body = request.get("body")
            if isinstance(body, dict) and "messages" in body and request.get("path", "").endswith("/messages"):
                try:
                    chat = anthropic_to_chat(body, upstream_model="anthropic/claude-sonnet-4.5").body
                except InvalidRequest:  # a server tool the gateway refuses (web search): not a sample
                    continue
                yield "client request", f"{path.stem}#{i}", chat
    synthetic = {  # not real prompts: where the 4-characters-a-token rule is furthest off, either way
        "64-space indentation runs": (" " * 64 + "x = 1\n") * 2000,
        "CJK text": "漢字仮名交じり文。" * 3000,
        "base64": __import__("base64").b64encode(os.urandom(60_000)).decode(),
    }
    for name, text in synthetic.items():
        yield "synthetic", name, {"messages": [{"role": "user", "content": text}]}
    kinds = {".py": "python", ".md": "prose (markdown)", ".yaml": "yaml", ".json": "json", ".toml": "toml"}
    for path in sorted(REPO.rglob("*")):
        if path.suffix in kinds and ".venv" not in path.parts and "node_modules" not in path.parts and path.is_file():
            text = path.read_text(errors="replace")
            if len(text) > 400:
                yield kinds[path.suffix], str(path.relative_to(REPO)), {"messages": [{"role": "user", "content": text}]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worst", type=int, default=5, help="list the N largest over-estimates")
    args = parser.parse_args(argv)
    count = tokenizers()
    rows: list[tuple[str, str, int, dict[str, int]]] = []
    for kind, name, body in samples():
        text = "".join(_texts(body["messages"])) + "".join(json.dumps(t) for t in body.get("tools", []))
        rows.append((kind, name, estimate_chat_tokens(body), {t: f(text) for t, f in count.items()}))
    print(f"{len(rows)} samples; ratio = local estimate / tokenizer count of the text (> 1: over-estimate)\n")
    print(f"{'kind':18} {'n':>4}  {'tokenizer':10} {'min':>5} {'median':>6} {'max':>5}")
    for kind in dict.fromkeys(r[0] for r in rows):
        of_kind = [r for r in rows if r[0] == kind]
        for name in count:
            ratios = [r[2] / r[3][name] for r in of_kind if r[3][name]]
            print(
                f"{kind:18} {len(of_kind):>4}  {name:10} {min(ratios):5.2f} {statistics.median(ratios):6.2f}"
                f" {max(ratios):5.2f}"
            )
    worst = sorted(rows, key=lambda r: -max(r[2] / max(n, 1) for n in r[3].values()))[: args.worst]
    print("\nlargest over-estimates:")
    for _, name, estimate, real in worst:
        print(f"  {name}: estimate {estimate}, " + ", ".join(f"{t} {n}" for t, n in real.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
