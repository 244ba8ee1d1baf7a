"""Secrets out of every text the runtime stores, answers or logs about a failure.

Two kinds of secret are masked: credentials inside URLs (`scheme://user:password@host`
becomes `scheme://***@host`), and the values of the environment variables that hold
secrets: those whose name says so (KEY, SECRET, TOKEN, PASS, CREDENTIAL) and the password
of any URL an environment variable carries (MONGODB_URL, say). The environment is read at
each call, so a value set after start-up is masked too.

Input and output dumps are the user's data, needed to replay a run, and are not changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import unquote

MASK = "***"

# The authority part of a URL runs to the first `/`, `?`, `#` or space; credentials end at
# its last `@`, so an unescaped `@` inside a password is masked too.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/?#]*)@")
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASS|CREDENTIAL", re.IGNORECASE)

# Shorter values are flags and switches ("1", "true", "false"): masking every occurrence of
# them would garble the text and protect nothing.
MIN_SECRET_LENGTH = 6


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """`text` with URL credentials and the secrets of `environ` (default: os.environ)
    replaced by `***`."""
    text = _URL_CREDENTIALS.sub(rf"\g<scheme>{MASK}@", text)
    for value in secret_values(os.environ if environ is None else environ):
        text = text.replace(value, MASK)
    return text


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The secrets `environ` holds, longest first, so that a secret containing another
    is masked whole."""
    found: set[str] = set()
    for name, value in environ.items():
        if _SECRET_NAME.search(name):
            found.add(value)
        for credentials in _URL_CREDENTIALS.finditer(value):
            password = credentials["userinfo"].partition(":")[2]
            found.update((password, unquote(password)))
    secrets = (value for value in found if len(value) >= MIN_SECRET_LENGTH)
    return sorted(secrets, key=lambda value: (-len(value), value))
