"""API keys of the portal's clients (payment providers, partner and field apps): one way to make them, show
them once, keep only their hash and find their holder by it."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db.models import Model, QuerySet


def api_key_hash(key: str) -> str:
    # Keys are long random tokens: a fast hash is enough, and lets the API find the holder by it.
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_new(*, prefix: str) -> tuple[str, str, str]:
    """A new key as (the key, shown once; its hash, stored; its first characters, shown in lists)."""
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    return key, api_key_hash(key), key[:8]


def api_key_holder(holders: QuerySet[Any], key: str | None) -> Model | None:
    """The active holder (among `holders`) of this key, or None: an empty or unknown key finds no one."""
    if not key:
        return None
    return holders.filter(api_key_hash=api_key_hash(key)).first()
