"""Persistence behind small interfaces (``base``), one implementation per deployment.

Modules:
    base        the records (KeyRecord, UsageRecord, …), the store interfaces, Backends
    backends    build_backends: the stores a deployment uses (local or AWS)
    local/      SQLite and a token file, for ``ob1gw serve``
    aws/        DynamoDB, Secrets Manager and S3, for the stack
"""
