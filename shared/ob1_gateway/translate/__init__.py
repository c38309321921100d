"""Pure Anthropic <-> OpenAI translation: no I/O, no web framework; the standard library, plus pydantic
for the request contract.

Modules, one job each (``tests/unit/test_translate_index.py`` keeps this list whole):

The request contract and what every path shares
    schema                       the request contract of the three APIs (pydantic models; OpenAPI is made from it)
    invalid                      InvalidRequest, the one error of every request translator
    error_bodies                 status mapping and error bodies of both APIs
    upstream_refusals            what an upstream refusal means (an overflow, system messages) from its words
    redact                       the one redaction of secrets in text (error messages and log lines)
    sse                          SSE framing (decode upstream bytes, encode client events)
    json_codec                   the hot path's JSON encoders, each made once
    token_usage                  upstream usage -> one Usage value (Anthropic's input_tokens meaning)
    token_count                  heuristic input-token estimate for count_tokens and message_start
    tool_names                   reversible shortening of tool names to OpenAI's 64-char limit
    model_limits                 what the catalog says a model accepts (output cap, supported parameters)
    web_tools                    the gateway's web tools as the model sees them, and one run's record (ToolRun)

anthropic/ — the Messages API
    anthropic/anthropic_in       Anthropic Messages request -> OpenAI chat request (ChatPlan)
    anthropic/anthropic_tools    Anthropic tools (custom, client-defined, deferred) -> function tools
    anthropic/context_edits      Anthropic context_management edits applied as a request rewrite
    anthropic/anthropic_out      chat.completion -> Anthropic message
    anthropic/anthropic_stream   chat.completion.chunk stream -> Anthropic SSE events (the sequencer's emitter)
    anthropic/anthropic_models   the upstream model list in the Anthropic Models API's shape
    anthropic/web_blocks         web tool runs as server_tool_use / web_*_tool_result blocks, both ways

responses/ — the Responses API
    responses/responses_in       OpenAI Responses request -> OpenAI chat request
    responses/responses_items    Responses items as stored and referenced (ids that name their response)
    responses/responses_tools    Responses tools on a chat-completions upstream, both ways
    responses/responses_out      chat.completion -> Responses API response object
    responses/responses_stream   chat.completion.chunk stream -> Responses API SSE events (the sequencer's emitter)

chat/ — chat completions, which go upstream almost as they come
    chat/chat_fields             what a chat completions body may carry upstream (the rest refused by name)
    chat/chat_stream             chat completions passed through (the sequencer judges completeness only)
    chat/system_hoist            system messages merged into the leading one (upstreams that refuse them later)
    chat/chat_citations          the gateway's web searches in a chat answer: url_citation annotations

answers/ — turning the upstream's answer into the caller's, shared by the Anthropic and Responses paths
    answers/sequencer            the one stream state machine: blocks in order, tool calls, completeness
    answers/finish               finish_reason / stop-sequence mapping
    answers/reasoning            reasoning_details -> thinking blocks
"""
