"""The stack's stores: one DynamoDB table, the login in Secrets Manager, stored Responses in S3.

Modules:
    aws_backends    build_aws_backends and the boto3 clients (lean, made once)
    aws_items       DynamoDB item encoding shared by the table's stores
    aws_keys        keys (``KEY#<id>`` / ``META``)
    aws_usage       usage: one transaction per request (its record and the day's totals)
    aws_rates       rate-limit counters held across every instance
    aws_tokens      the OB-1 login in Secrets Manager, refreshed under a DynamoDB lease
    s3_responses    stored Responses in S3
"""
