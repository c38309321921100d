"""Where the app runs: the glue around ``create_app`` for Lambda and for ``ob1gw serve``. (Imports nothing
itself: ``cold_imports`` must run before FastAPI is imported.)

Modules:
    aws_lambda      Mangum and the Web Adapter: usage written before the invocation ends; SnapStart hooks
    cold_imports    FastAPI and aiohttp imported on a cold start without what they build for nothing
    server          ``ob1gw serve``'s HTTP server: uvicorn with head limits, a connection cap, workers
    demo_upstream   ``ob1gw serve --demo``: a built-in stand-in for the upstream (not a model), to try it out
"""
