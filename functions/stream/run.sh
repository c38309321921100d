#!/bin/bash
# Started by the Lambda Web Adapter (AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap). LWA proxies each
# invocation to this server on $AWS_LWA_PORT and streams the response back (AWS_LWA_INVOKE_MODE).
# /opt/python is the SharedLayer; the runtime does not put it on PYTHONPATH for a non-Python handler.
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}/opt/python${LAMBDA_RUNTIME_DIR:+:$LAMBDA_RUNTIME_DIR}"
exec python -m uvicorn main:app \
  --host 127.0.0.1 \
  --port "${AWS_LWA_PORT:-${PORT:-8081}}" \
  --no-access-log \
  --timeout-keep-alive 60
