"""ob1-gateway: OpenAI and Anthropic APIs for a team, served over the OB-1 model backend.

Rooms, by job (imports point down: the core — access, metering, stores, upstream, websearch, translate — never
imports the HTTP layer or the hosts; ``tests/unit/test_import_direction.py``):
    app          create_app: the one FastAPI app every host serves
    gateway      Gateway: the long-lived parts, built once per process
    settings     every OB1GW_ setting, validated once
    backoff      the one backoff every retry loop uses
    api/         the HTTP layer: routes and the one request pipeline
    access/      who may spend what: keys, budgets, rate limits; the one admission
    metering/    what each request used and cost, recorded exactly once
    translate/   pure Anthropic / Responses <-> chat completions translation
    upstream/    the OB-1 backend: HTTP client, model catalog, login tokens
    websearch/   the gateway's own server-side tools (a safe fetch, search providers; not yet offered)
    stores/      persistence: SQLite locally, DynamoDB / Secrets Manager / S3 on AWS
    telemetry/   logs and metrics for the operator
    hosting/     Lambda, cold-start imports, ``ob1gw serve``'s server
    cli/         the ``ob1gw`` command (not in the Lambda layer)
"""

__version__ = "0.1.0"
