"""``llm`` (Simon Willison's CLI, the version pinned in pyproject) on a Responses model through the gateway,
as its users configure one (``extra-openai-models.yaml`` with ``responses: true``). llm sends ``store: false``
and, on the next turn, its first answer's reasoning item back by id with its summary but without
``encrypted_content`` (it did not ask for it): an item of a response the gateway issued and, as asked, did not
keep. The conversation must go on; an id never issued, or issued to another key, stays a 404."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.gateway import GatewayHandle

pytestmark = pytest.mark.e2e


def run_llm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llm", *args],
        env={"LLM_USER_PATH": str(home), "PATH": "/usr/bin:/bin", "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def llm_home(tmp_path: Path, gateway: GatewayHandle) -> Path:
    home = tmp_path / "llm"
    home.mkdir()
    (home / "extra-openai-models.yaml").write_text(
        "- model_id: ob1-gpt5\n"
        "  model_name: gpt-5\n"
        f"  api_base: {gateway.base_url}/v1\n"
        "  api_key_name: ob1\n"
        "  responses: true\n"
    )
    (home / "keys.json").write_text(json.dumps({"ob1": gateway.key}))
    return home


def test_a_second_turn_continues_past_the_unkept_reasoning_item(
    llm_home: Path, gateway: GatewayHandle, fake_ob1: Any
) -> None:
    first = run_llm(llm_home, "-m", "ob1-gpt5", "first question")
    assert first.returncode == 0, first.stderr
    second = run_llm(llm_home, "-c", "second question")
    assert second.returncode == 0, second.stderr  # was: 404 Item with id 'rs_…' not found
    assert "second question" in second.stdout
    upstream = fake_ob1.chat_requests[-1]["body"]["messages"]
    assert [m["role"] for m in upstream] == ["user", "assistant", "user"]  # the conversation, not the item
    assert gateway.key not in first.stdout + first.stderr + second.stdout + second.stderr


def _reasoning_item_of_an_unkept_response(gateway: GatewayHandle, key: str) -> str:
    answer = httpx.post(
        gateway.base_url + "/v1/responses",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "gpt-5", "input": "hi", "store": False, "reasoning": {"effort": "low"}},
        timeout=30,
    ).json()
    return next(item["id"] for item in answer["output"] if item["type"] == "reasoning")


def _second_turn(gateway: GatewayHandle, key: str, item: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        gateway.base_url + "/v1/responses",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "gpt-5", "store": False, "input": [item, {"role": "user", "content": "and then?"}]},
        timeout=30,
    )


def test_the_item_left_out_is_named_and_other_ids_stay_unknown(gateway: GatewayHandle) -> None:
    reasoning_id = _reasoning_item_of_an_unkept_response(gateway, gateway.key)
    sent_back = {"type": "reasoning", "id": reasoning_id, "summary": [{"type": "summary_text", "text": "…"}]}
    ok = _second_turn(gateway, gateway.key, sent_back)
    assert ok.status_code == 200, ok.text
    assert ok.headers["x-ob1gw-omitted-items"] == reasoning_id

    _, other_key = gateway.new_key("someone-else")
    assert _second_turn(gateway, other_key, sent_back).status_code == 404  # issued to another key
    never_issued = {**sent_back, "id": "rs_" + "0" * 36}
    assert _second_turn(gateway, gateway.key, never_issued).status_code == 404
    by_reference = {"type": "item_reference", "id": reasoning_id}  # asks for content that was not kept
    assert _second_turn(gateway, gateway.key, by_reference).status_code == 404
