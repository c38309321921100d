"""The routes, one module per API surface. The stream function serves only ``STREAM_ROUTERS``
(app.py): openai, anthropic, responses and health; the rest are buffered.

Modules:
    anthropic        POST /v1/messages
    openai           POST /v1/chat/completions
    responses        POST /v1/responses (stored state per key)
    responses_extra  the Responses API's other routes: retrieve, delete, cancel, input_items, input_tokens
    count_tokens     POST /v1/messages/count_tokens (a local estimate)
    models           GET /v1/models (OpenAI's list, Anthropic's Models API)
    usage_report     GET /v1/usage: the calling key's own usage
    metrics          GET /metrics (Prometheus, ob1gw serve)
    health           GET /health
"""
