"""What the SDKs' clients offer and the gateway does not, by name: a caller that reaches one of these paths
is told which feature is not available here (as a 404 in its API's shape), not "no route for …".

The Anthropic list is the ``anthropic`` SDK's resources (2.16: ``client.messages.batches``, ``client.files``,
``client.skills``, ``client.beta.*``, the Admin API); the OpenAI one is what its client sends to routes the
gateway also serves (stored chat completions, model deletion). A feature missing here still gets a 404 in
the caller's shape; it only says less.
"""

from __future__ import annotations

# (path prefix, methods or None for any, the feature's name); the first match wins.
_FEATURES: list[tuple[str, frozenset[str] | None, str]] = [
    ("/v1/messages/batches", None, "Message Batches (send each request to /v1/messages instead)"),
    ("/v1/files", None, "the Files API"),
    ("/v1/skills", None, "Skills"),
    ("/v1/agents", None, "Managed Agents"),
    ("/v1/sessions", None, "agent sessions"),
    ("/v1/environments", None, "agent environments"),
    ("/v1/memory_stores", None, "memory stores"),
    ("/v1/vaults", None, "vaults"),
    ("/v1/deployments", None, "deployments"),
    ("/v1/deployment_runs", None, "deployment runs"),
    ("/v1/dreams", None, "dreams"),
    ("/v1/tunnels", None, "tunnels"),
    ("/v1/user_profiles", None, "user profiles"),
    ("/v1/organizations", None, "the Admin API (organizations, workspaces, users, API keys)"),
    ("/v1/compliance", None, "the Compliance API"),
    ("/v1/chat/completions/", None, "stored chat completions"),
    ("/v1/chat/completions", frozenset({"GET"}), "stored chat completions"),
    ("/v1/models/", frozenset({"DELETE"}), "deleting models"),
]
_OFFERED = "/v1/messages, /v1/messages/count_tokens, /v1/models, /v1/chat/completions and /v1/responses (and /v1/usage)"


def unsupported_feature(method: str, path: str) -> str | None:
    """The message for a request to a feature the gateway does not offer, or None if the path is no known one."""
    for prefix, methods, feature in _FEATURES:
        at_boundary = path == prefix or path.startswith(prefix if prefix.endswith("/") else prefix + "/")
        if at_boundary and (methods is None or method in methods):
            return f"{feature}: {method} {path} is not available through this gateway; it serves {_OFFERED}"
    return None
