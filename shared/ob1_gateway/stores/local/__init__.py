"""The stores of ``ob1gw serve``: one SQLite file and a token file, no server.

Modules:
    local_stores      SqliteDatabase; the key and usage stores; FileTokenStore (the OB-1 login)
    sqlite_rates      rate-limit counters shared by ``--workers`` processes
    memory_rates      rate-limit counters of one process
    sqlite_responses  stored Responses
"""
