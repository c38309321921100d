"""Liveness for load balancers and the Lambda Web Adapter readiness check; no auth, no upstream call."""

from __future__ import annotations

from fastapi import APIRouter

from .. import __version__

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
