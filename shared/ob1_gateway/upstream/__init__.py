"""Adapters for the OB-1 upstream.

client    the pooled HTTP client for chat completions and the model list (retries, 401 refresh)
http      the httpx-on-aiohttp plumbing both upstream clients share
catalog   the model list, cached per process, and client model names resolved against it
token     the upstream credential: a static key, or the OB-1 login refreshed exactly once
workos    the WorkOS calls an OB-1 login needs (device flow, refresh, organisations)
"""
