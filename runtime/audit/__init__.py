"""Auditor pages: replay a case, verify the records, export event logs, read the access log.

Nothing on these pages can change a case; every read rule is the engine's.
"""
