"""The gateway's own server-side tools (issue 30: web search and fetch for agents): what runs a model's call of
them, within the request's limits, and the loop that lets the model call them. Turned on by ``OB1GW_WEB_SEARCH`` /
``OB1GW_WEB_FETCH`` (docs/web-search.md).

Modules:
    address_guard     which addresses a fetch may never reach (SSRF), and the resolver that enforces it
    fetcher           one document fetched safely: http(s) only, every hop checked, size / time / redirect limits
    search_providers  the search providers an admin can pick (SearXNG, Tavily, Brave, Exa) behind one interface
    web_kit           the provider and fetcher the settings name, made in the loop that uses them
    tool_runner       one request's runs of the tools, within max_uses, domains and the key's allowance
    web_loop          the model-driven loop of one request, whole or streamed
"""
