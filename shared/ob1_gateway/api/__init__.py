"""Thin HTTP routers: authenticate, translate in, call upstream, translate out, meter."""
