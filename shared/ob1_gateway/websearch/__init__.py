"""The gateway's own server-side tools (issue 30: web search and fetch for agents), built bottom-up; not yet
offered to callers (``OB1GW_WEB_FETCH`` / ``OB1GW_WEB_SEARCH`` come with the request loop).

Modules:
    address_guard   which addresses a fetch may never reach (SSRF), and the resolver that enforces it
    fetcher         one document fetched safely: http(s) only, every hop checked, size / time / redirect limits
    search_providers  the search providers an admin can pick (SearXNG, Tavily) behind one interface
"""
