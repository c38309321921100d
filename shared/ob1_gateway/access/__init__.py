"""Who may spend what: a request is admitted here or refused, before anything is sent upstream.

Modules:
    admission       Access: the one admission of a spending request (key, budget, rate limits, in order)
    authenticator   KeyAuthenticator: a presented key checked against the key store, with bounded caches
    keys            keys issued, parsed and verified; a key's model patterns and expiry (pure)
    budgets         BudgetGuard: a key's spend this month, against its monthly budget
    rate_limits     RateLimiter: requests and tokens per minute, requests in flight
    search_allowance  SearchAllowance: a key's web searches today, against its daily limit
"""
