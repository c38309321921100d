"""Pure Anthropic <-> OpenAI translation: no I/O, no web framework; the standard library, plus pydantic
for the request contract.

Modules, one job each:
    sse               SSE framing (decode upstream bytes, encode client events)
    usage             upstream usage -> one Usage value (Anthropic's input_tokens meaning)
    tool_names        reversible shortening of tool names to OpenAI's 64-char limit
    errors            status mapping and error bodies of both APIs
    invalid           InvalidRequest, the one error of every request translator
    schema            the request contract of the three APIs (pydantic models; OpenAPI is made from it)
    model_limits      what the catalog says a model accepts (output cap, supported parameters)
    anthropic_in      Anthropic Messages request -> OpenAI chat request (ChatPlan)
    anthropic_tools   Anthropic tools (custom, client-defined, deferred) -> function tools
    context_edits     Anthropic context_management edits applied as a request rewrite
    system_hoist      system messages merged into the leading one (upstreams that refuse them later)
    finish            finish_reason / stop-sequence mapping shared by the two response paths
    reasoning         reasoning_details -> thinking blocks (shared by the two response paths)
    anthropic_out     chat.completion -> Anthropic message
    sequencer         the one stream state machine: blocks in order, tool calls, completeness
    anthropic_stream  chat.completion.chunk stream -> Anthropic SSE events (the sequencer's emitter)
    token_count       heuristic input-token estimate for count_tokens and message_start
    responses_in      OpenAI Responses request -> OpenAI chat request
    responses_out     chat.completion -> Responses API response object
    responses_stream  chat.completion.chunk stream -> Responses API SSE events (the sequencer's emitter)
    chat_stream       chat completions passed through (the sequencer judges completeness only)
    chat_fields       what a chat completions body may carry upstream (the rest refused by name)
"""
