"""What each request used and cost, recorded exactly once.

A record's way: the ``RequestMeter`` makes it when the request ends, the ``UsageRecorder`` writes it in
batches off the client's path (to ``stores/local`` SQLite or ``stores/aws/aws_usage.py`` DynamoDB) and tells
its listeners (rate limits, budgets, metrics); on Lambda, ``hosting/aws_lambda.py`` holds the response's
end until the write is done, since the environment freezes once the last byte is out.

Modules:
    meter       RequestMeter: what is known about one request while it runs, and its one record
    recorder    UsageRecorder: the one writer task; UsageListener
    pricing     what a request cost (the upstream's figure, the model's pricing, or the admin's table)
"""
