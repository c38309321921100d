"""The OpenAI Responses API on a chat-completions upstream: the request in (``responses_in``, ``responses_tools``),
the items it stores and references (``responses_items``), the answer out (``responses_out`` whole,
``responses_stream`` as SSE)."""
