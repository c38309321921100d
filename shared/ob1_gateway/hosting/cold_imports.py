"""Two libraries imported without work they do at import that a Lambda cold start never uses.

``lean_imports()`` runs first in each Lambda entry point, before anything imports FastAPI or aiohttp:

- ``fastapi.params`` imports ``fastapi.openapi.models``: ~40 pydantic models describing an OpenAPI
  document, each built (validator and serializer) as its class is defined, for a document only
  ``/openapi.json`` makes (FastAPI's own change to defer them, #10546, was not merged). FastAPI is
  imported with pydantic's ``defer_build`` on by default for exactly that import: those models are built
  when a document is first made; every model defined later (the gateway's request contract) is built at
  definition as before. The default lives in a private pydantic module; if it moves, FastAPI is imported
  as usual.
- ``aiohttp.connector`` makes two TLS contexts at import and loads the system's CA bundle into both,
  although one of them never verifies anything (``ssl=False``). It is imported with
  ``set_default_verify_paths`` skipped for a context that does not verify; the verifying one, which the
  gateway's connections use, loads the bundle as before.

``tests/unit/test_cold_imports.py`` fails if either stops working; what each saves: bench/README.md,
"StreamFunction's init".
"""

from __future__ import annotations

import ssl
import sys
from typing import Any


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


def import_aiohttp() -> bool:
    """Import aiohttp without loading CA certificates into its non-verifying context; False if imported already."""
    if "aiohttp.connector" in sys.modules:
        return False
    load = ssl.SSLContext.set_default_verify_paths

    def unless_unverified(context: Any) -> None:
        if context.verify_mode != ssl.CERT_NONE:
            load(context)

    ssl.SSLContext.set_default_verify_paths = unless_unverified  # type: ignore[method-assign,assignment]
    try:
        import aiohttp.connector  # noqa: F401
    finally:
        ssl.SSLContext.set_default_verify_paths = load  # type: ignore[method-assign]
    return True


def lean_imports() -> None:
    import_fastapi()
    import_aiohttp()
