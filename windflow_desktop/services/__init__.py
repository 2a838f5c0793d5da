"""Async use cases: each method takes the acting principal, checks permission and
organization scope, works in one unit of work, audits, and publishes events after commit."""
