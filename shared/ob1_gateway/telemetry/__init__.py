"""What the operator sees: logs and metrics, the same events on both deployments.

Modules:
    powertools      on AWS: Powertools JSON logs, EMF metrics, X-Ray (a CloudWatch dashboard reads them)
    prometheus      on ``ob1gw serve``: ``GET /metrics`` from the same usage records
    log_format      on ``ob1gw serve``: one readable text line per request
    log_redaction   secrets scrubbed and control characters escaped in every log record
    request_event   UnmeteredRequest: a request that ended without a usage record (refused, or free)
"""
