"""Async functions decorated with @operation, one module each."""
