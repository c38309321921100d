"""Liveness for load balancers and the Lambda Web Adapter readiness check; no auth, no upstream call."""

from __future__ import annotations

from fastapi import APIRouter

from ... import __version__

router = APIRouter()


# No response model: building one imports pydantic.v1 (FastAPI checks for v1 models) on a cold start.
@router.get("/health", response_model=None)
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
