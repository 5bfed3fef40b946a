"""Secret tokens for emailed links: 256 bits from the OS CSPRNG, stored only as a SHA-256 hash."""

import hashlib
import secrets


def token_new() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
