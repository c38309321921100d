"""Import FastAPI without building its OpenAPI models, for the Lambda entry points.

``fastapi.params`` imports ``fastapi.openapi.models``: ~40 pydantic models describing an OpenAPI
document, each built (validator and serializer) as its class is defined, ~50 ms of every cold start,
for a document only ``/openapi.json`` makes (FastAPI's own change to defer them, #10546, was not merged).
``import_fastapi`` imports FastAPI with pydantic's ``defer_build`` on by default for exactly that
import, so those models are built the first time a document is made, and every model defined after it
(the gateway's own request contract) is built at definition as before. The default lives in a private
pydantic module: if it moves, FastAPI is imported as usual (``tests/unit/test_lazy_openapi.py`` fails).
"""

from __future__ import annotations

import sys


def import_fastapi() -> bool:
    """Import FastAPI with its OpenAPI models deferred; False if it was imported already or cannot be."""
    if "fastapi" in sys.modules:
        return False
    try:
        from pydantic._internal._config import config_defaults
    except ImportError:  # pragma: no cover - a pydantic without it: FastAPI as usual
        return False
    defaults: dict[str, object] = config_defaults  # type: ignore[assignment]
    previous = defaults.get("defer_build", False)
    defaults["defer_build"] = True
    try:
        import fastapi  # noqa: F401
    finally:
        defaults["defer_build"] = previous
    return True
