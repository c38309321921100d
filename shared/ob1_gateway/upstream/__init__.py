"""Adapters for the OB-1 upstream: HTTP client, model catalog, login tokens."""
