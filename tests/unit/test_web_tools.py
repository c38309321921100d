"""The pure parts of the gateway's web tools: the sealed copy of a result, the caller's domain lists, citations, the
Anthropic blocks both ways, and the stream loop's filter that keeps the gateway's own calls out of the caller's
stream."""

from __future__ import annotations

import base64
import zlib
from typing import Any

import pytest
from ob1_gateway.translate.anthropic.anthropic_in import anthropic_to_chat
from ob1_gateway.translate.anthropic.web_blocks import run_blocks, text_citations, web_result_text
from ob1_gateway.translate.chat.chat_fields import web_search_of
from ob1_gateway.translate.invalid import InvalidRequest
from ob1_gateway.translate.responses.responses_in import responses_to_chat
from ob1_gateway.translate.web_tools import (
    FETCH_FUNCTION,
    SEARCH_FUNCTION,
    SealBudget,
    SearchOptions,
    ToolRun,
    WebHit,
    WebTools,
    citations_in,
    domain_list,
    seal,
    unseal,
    url_in,
)
from ob1_gateway.websearch.web_loop import _joined, _RoundWatch, summed_usage

HITS = [WebHit("https://a.example/1", "One", "first text"), WebHit("https://b.example/2", "Two", "second text")]
SEARCH = {"type": "web_search_20250305", "name": "web_search"}


def run(hits: list[WebHit] = HITS, first: int = 1, error: str | None = None) -> ToolRun:
    return ToolRun("srvtoolu_1", SEARCH_FUNCTION, {"query": "q"}, list(hits), error, first_number=first)


def test_a_sealed_hit_comes_back_whole_and_a_foreign_one_keeps_only_its_url() -> None:
    hit = WebHit("https://a.example/1", "Ünïcode", "text ✓ " * 50)
    assert unseal(seal(hit)) == WebHit(hit.url, hit.title, hit.text)
    assert unseal("someone-elses-ciphertext", "https://x.example", "X") == WebHit("https://x.example", "X", "")
    assert unseal("ob1gw1.not-base64!!", "u", "t") == WebHit("u", "t", "")


def test_a_sealed_bomb_does_not_inflate() -> None:
    bomb = "ob1gw1." + base64.urlsafe_b64encode(zlib.compress(b'{"c":"' + b"a" * 50_000_000 + b'"}')).decode()
    assert len(bomb) < 100_000
    assert unseal(bomb, "u", "t") == WebHit("u", "t", "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["Example.COM", "docs.example.org/blog/", "a.b"], ("example.com", "docs.example.org/blog", "a.b")),
        (None, ()),
    ],
)
def test_domain_lists_are_normalised(value: object, expected: tuple[str, ...]) -> None:
    assert domain_list(value, "p") == expected


@pytest.mark.parametrize(
    "bad",
    [["https://x.com"], ["x.com:443"], ["x .com"], ["x.com/a?b"], [""], [1], "x.com", ["a" * 300], ["x.com\r\nx: 1"]],
)
def test_bad_domain_lists_are_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidRequest) as refused:
        domain_list(bad, "tools.0.allowed_domains")
    assert refused.value.param is not None and refused.value.param.startswith("tools.0.allowed_domains")


def test_a_url_is_under_a_domain_its_subdomains_and_a_path_prefix() -> None:
    assert url_in("https://docs.example.org/x", ["example.org"])
    assert not url_in("https://badexample.org/x", ["example.org"])
    assert url_in("https://example.org/blog/post", ["example.org/blog"])
    assert not url_in("https://example.org/blogger", ["example.org/blog"])
    assert not url_in("http://[::1", ["example.org"])  # malformed: under nothing


def test_citations_are_the_markers_that_name_a_result() -> None:
    text = "See [2] and [1], not [9] or [x]."
    cited = citations_in(text, [run()])
    assert [(text[c.start : c.end], c.hit.url) for c in cited] == [("[2]", HITS[1].url), ("[1]", HITS[0].url)]
    later = citations_in("[3]", [run(), run(first=3)])  # numbers run on across a request's searches
    assert [c.hit.url for c in later] == [HITS[0].url]
    assert [c["url"] for c in text_citations("[1] [1] [2]", [run()])] == [HITS[0].url, HITS[1].url]


def test_run_blocks_and_the_text_sent_back_round_trip() -> None:
    use, result = run_blocks(run())
    assert use == {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}
    assert web_result_text(result) == run().for_model()
    _, failed = run_blocks(run(error="unavailable"))
    assert failed["content"] == {"type": "web_search_tool_result_error", "error_code": "unavailable"}
    assert web_result_text(failed) == "Error: unavailable"
    fetch = ToolRun("srvtoolu_2", FETCH_FUNCTION, {"url": HITS[0].url}, [HITS[0]], retrieved_at="2026-12-05T00:00:00Z")
    _, fetched = run_blocks(fetch)
    assert fetched["content"]["content"]["source"]["data"] == "first text"
    assert web_result_text(fetched) == fetch.for_model()


def test_earlier_blocks_go_back_as_a_call_and_its_result_only_when_the_tool_is_offered() -> None:
    use, result = run_blocks(run())
    turns = [
        {"role": "user", "content": "q?"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Let me look."}, use, result, {"type": "text", "text": "Found [1]."}],
        },
        {"role": "user", "content": "more"},
    ]
    req = {"model": "m", "max_tokens": 10, "messages": turns, "tools": [SEARCH]}
    sent = anthropic_to_chat(req, upstream_model="m", web=frozenset({SEARCH_FUNCTION})).body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["content"] == "Let me look." and sent[1]["tool_calls"][0]["id"] == "srvtoolu_1"
    assert sent[2] == {"role": "tool", "tool_call_id": "srvtoolu_1", "content": run().for_model()}
    assert sent[3]["content"] == "Found [1]."
    plain = anthropic_to_chat({**req, "tools": []}, upstream_model="m").body["messages"]
    assert [m["role"] for m in plain] == ["user", "assistant", "user"]
    assert "first text" in str(plain[1]["content"]) and "tool_calls" not in plain[1]


def test_the_server_tool_is_refused_by_name_unless_the_gateway_runs_it() -> None:
    req = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], "tools": [SEARCH]}
    with pytest.raises(InvalidRequest, match="web_search"):
        anthropic_to_chat(req, upstream_model="m")
    with pytest.raises(InvalidRequest, match="web_fetch"):
        anthropic_to_chat({**req, "tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]},
                          upstream_model="m", web=frozenset({SEARCH_FUNCTION}))  # fmt: skip
    plan = anthropic_to_chat(req, upstream_model="m", web=frozenset({SEARCH_FUNCTION}))
    assert plan.web == WebTools(search=SearchOptions()) and "tools" not in plan.body


def _chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _call(index: int, name: str | None = None, args: str = "", call_id: str | None = None) -> dict[str, object]:
    fn: dict[str, object] = {"arguments": args}
    if name:
        fn["name"] = name
    out: dict[str, object] = {"index": index, "function": fn}
    if call_id:
        out["id"] = call_id
    return {"tool_calls": [out]}


def test_the_stream_filter_keeps_the_gateway_s_calls_and_the_usage_back() -> None:
    watch = _RoundWatch(WebTools(search=SearchOptions()))
    passed = [
        watch.filter(_chunk({"content": "Let me search. "})),
        watch.filter(_chunk(_call(0, "web_search", '{"que', "call_a"))),
        watch.filter(_chunk(_call(1, "Bash", '{"command": "ls"}', "call_b"))),
        watch.filter(_chunk(_call(0, None, 'ry": "x"}'))),
        watch.filter(_chunk({}, "tool_calls")),
        watch.filter({"choices": [], "usage": {"prompt_tokens": 5}}),
    ]
    assert passed[0] == _chunk({"content": "Let me search. "})
    assert passed[1] == _chunk({}) and passed[3] == _chunk({})  # the gateway's call is not the caller's
    assert passed[2] == _chunk(_call(1, "Bash", '{"command": "ls"}', "call_b"))
    assert passed[4]["choices"][0]["finish_reason"] is None  # type: ignore[index]  # the round goes on
    assert passed[5] is None and watch.usages == [{"prompt_tokens": 5}]
    assert watch.our_calls() == [("web_search", '{"query": "x"}')] and watch.theirs
    assert watch.message() == {"role": "assistant", "content": "Let me search. "}


def test_rounds_usage_is_summed_and_reasoning_fragments_joined() -> None:
    total = summed_usage(
        [
            {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12, "cost": 0.5},
            None,
            {"prompt_tokens": 20, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 4}, "cost": 0.25},
        ]
    )
    assert total == {
        "prompt_tokens": 30,
        "completion_tokens": 5,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 4},
        "cost": 0.75,
    }
    joined = _joined(
        [
            {"type": "reasoning.text", "index": 0, "text": "a"},
            {"type": "reasoning.text", "index": 0, "text": "b", "signature": "s"},
            {"type": "reasoning.encrypted", "index": 1, "data": "d"},
        ]
    )
    assert joined == [
        {"type": "reasoning.text", "index": 0, "text": "ab", "signature": "s"},
        {"type": "reasoning.encrypted", "index": 1, "data": "d"},
    ]


def test_a_request_s_sealed_results_inflate_to_a_bounded_total() -> None:
    envelope = "ob1gw1." + base64.urlsafe_b64encode(zlib.compress(b'{"c":"' + b"a" * 60_000 + b'"}')).decode()
    assert len(envelope) < 1_000  # a thousand to one
    budget = SealBudget(200_000)
    texts = [unseal(envelope, "u", "t", budget).text for _ in range(5)]
    assert [len(t) for t in texts[:3]] == [60_000] * 3
    assert texts[3:] == ["", ""], "past the request's budget a result keeps only its url and title"


@pytest.mark.parametrize(
    "build",
    [
        lambda: anthropic_to_chat(
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
             "tools": [SEARCH, {"name": "web_search", "input_schema": {"type": "object"}}]},
            upstream_model="m", web=frozenset({SEARCH_FUNCTION}),
        ),
        lambda: responses_to_chat(
            {"model": "m", "input": "x", "tools": [{"type": "web_search"}, {"type": "function", "name": "web_search"}]},
            upstream_model="m", web=frozenset({SEARCH_FUNCTION}),
        ),
        lambda: web_search_of(
            {"web_search_options": {}, "tools": [{"type": "function", "function": {"name": "web_search"}}]},
            frozenset({SEARCH_FUNCTION}),
        ),
    ],
)  # fmt: skip
def test_a_caller_s_own_tool_named_as_the_gateway_s_is_refused(build: Any) -> None:
    with pytest.raises(InvalidRequest, match="'web_search' and the web_search server tool"):
        build()


def test_a_web_tool_offered_twice_and_several_chat_choices_are_refused_by_name() -> None:
    twice = [SEARCH, {**SEARCH, "type": "web_search_20260209"}]
    req = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": twice}
    with pytest.raises(InvalidRequest, match="offered twice") as refused:
        anthropic_to_chat(req, upstream_model="m", web=frozenset({SEARCH_FUNCTION}))
    assert refused.value.param == "tools.1.type"
    with pytest.raises(InvalidRequest) as refused:
        web_search_of({"web_search_options": {}, "n": 2}, frozenset({SEARCH_FUNCTION}))
    assert refused.value.param == "n"
    assert web_search_of({"web_search_options": {}, "n": 1}, frozenset({SEARCH_FUNCTION}))


@pytest.mark.parametrize("bad_id", [{"a": 1}, ["x"], 5, None])
def test_hostile_ids_in_earlier_web_blocks_are_a_400_naming_them(bad_id: Any) -> None:
    use, result = run_blocks(run())
    blocks = [{**use, "id": bad_id}, {**result, "tool_use_id": bad_id}]
    turns = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": blocks},
        {"role": "user", "content": "x"},
    ]
    req = {"model": "m", "max_tokens": 5, "tools": [SEARCH], "messages": turns}
    with pytest.raises(InvalidRequest) as refused:
        anthropic_to_chat(req, upstream_model="m", web=frozenset({SEARCH_FUNCTION}))
    assert refused.value.param == "messages.1.content.1.tool_use_id"


@pytest.mark.parametrize("kind", [["web_search"], {"t": 1}, 5])
def test_a_tool_choice_of_a_hostile_type_is_not_a_crash(kind: Any) -> None:
    req = {"model": "m", "input": "x", "tools": [{"type": "web_search"}], "tool_choice": {"type": kind}}
    plan = responses_to_chat(req, upstream_model="m", web=frozenset({SEARCH_FUNCTION}))
    assert plan.body["tool_choice"] == "auto"
