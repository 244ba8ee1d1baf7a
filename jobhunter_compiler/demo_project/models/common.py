"""Helpers shared by the models."""

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Timezone-aware "now", used as a default_factory (datetime.utcnow is deprecated)."""
    return datetime.now(timezone.utc)
