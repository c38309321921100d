"""Persistence adapters behind small interfaces: local (SQLite, file) and AWS (DynamoDB, Secrets Manager)."""
