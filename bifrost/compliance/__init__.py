"""Compliance: the rules every order passes after risk, and the hash-chained audit trail."""
