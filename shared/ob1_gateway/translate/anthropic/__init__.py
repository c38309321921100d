"""The Anthropic Messages API on a chat-completions upstream: the request in (``anthropic_in``, with
``anthropic_tools`` and ``context_edits``), the answer out (``anthropic_out`` whole, ``anthropic_stream`` as
SSE), the gateway's web tool runs as Anthropic's server tool blocks (``web_blocks``), and the Models API's list
(``anthropic_models``)."""
