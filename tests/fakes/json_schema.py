"""A small JSON value valid for a JSON schema: what a model following a structured-output schema answers.
Used by the capture server (tests/clients/capture.py) and the fake OB-1's echo agent."""

from __future__ import annotations

from typing import Any

__all__ = ["example_from_schema"]


def example_from_schema(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A small value valid for a JSON schema (the subset structured outputs use)."""
    if not isinstance(schema, dict) or depth > 12:
        return None
    defs = defs if defs is not None else {**schema.get("$defs", {}), **schema.get("definitions", {})}
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return example_from_schema(defs.get(name, {}), defs, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [s for s in schema[key] if not (isinstance(s, dict) and s.get("type") == "null")]
            return example_from_schema((options or schema[key])[0], defs, depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ == "object" or "properties" in schema:
        return {k: example_from_schema(v, defs, depth + 1) for k, v in schema.get("properties", {}).items()}
    if typ == "array":
        return [example_from_schema(schema.get("items", {}), defs, depth + 1)] * max(1, schema.get("minItems", 1))
    if typ == "string":
        return {"date": "2025-01-01", "date-time": "2025-01-01T00:00:00Z", "email": "a@example.com"}.get(
            schema.get("format", ""), "example"
        )
    if typ == "integer":
        return int(schema.get("minimum", 1))
    if typ == "number":
        return float(schema.get("minimum", 1.5))
    if typ == "boolean":
        return True
    if typ == "null":
        return None
    return "example"
