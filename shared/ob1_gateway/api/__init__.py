"""The HTTP layer: the routes (``routes/``) and what they share. A spending route runs the one pipeline:
admission, the body, the route's own preparation, the upstream call, the answer or the relayed stream.

Modules:
    pipeline           run_chat: the one request pipeline; ChatCall, what a route prepares
    request_admission  the presented key, admitted (``access/``) or refused in the caller's API
    access_errors      admission's refusals and the key's model policy as each API words them
    settlement         an admitted request ends in one usage record (or frees its slots), whatever fails
    streaming          relay_translated: the one stream relay through a StreamTranslator
    keepalive          with_keepalive: upstream chunks in batches, keep-alive ticks, the idle backstop
    body               the request body read within its bounds, as one JSON object
    deps               the gateway, the model a key may use, an upstream refusal as an API error
    errors             ApiError and the error handlers, in the calling API's shape
    request_log        every request's line and metric event; the last resort for an exception
    request_id         the request-id headers, and the key a refusal's line names
    client_session     the client's session id (Claude Code's, opencode's, Codex's header), validated
    response_state     the Responses API's stored state, per key
    unsupported        what the SDKs offer and the gateway does not, refused by name
"""
