"""Secrets at rest (a partner's processor keys): Fernet tokens under the keys in ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a key is rotated by putting a new one first, running
`manage.py rotate_encryption_keys` (which re-encrypts every stored secret under it), then dropping the
old one (docs/operations.md, "Encryption keys").
"""

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@functools.cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("ENCRYPTION_KEYS is empty: set it before storing a processor's keys.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured("ENCRYPTION_KEYS holds a key that is not a Fernet key.") from None


def _keys() -> MultiFernet:
    return _fernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode() if secret else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured("A stored secret can't be decrypted with ENCRYPTION_KEYS.") from None


def rotate(token: str) -> str:
    """The same secret under the first key."""
    return _keys().rotate(token.encode()).decode() if token else ""
