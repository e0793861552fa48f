"""Secrets we must use again later (outbound partner tokens) are stored encrypted.

The key comes from ROAMING_TOKEN_KEY (a Fernet key) or, when that is unset, is derived from
SECRET_KEY, so a database dump alone never reveals a partner token. Tokens partners use to
call us are only stored as SHA-256 hashes (see `token_hash`).
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def fernet() -> Fernet:
    key = (
        settings.ROAMING_TOKEN_KEY
        or base64.urlsafe_b64encode(
            hashlib.sha256(f"plugway-roaming-tokens:{settings.SECRET_KEY}".encode()).digest()
        ).decode()
    )
    return Fernet(key)


def secret_encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode("ascii") if value else ""


def secret_decrypt(value: str) -> str:
    if not value:
        return ""
    try:
        return fernet().decrypt(value.encode("ascii")).decode()
    except InvalidToken as exc:
        raise RuntimeError(
            "a stored partner secret cannot be decrypted: was the key changed?"
        ) from exc


def token_hash(token: str) -> str:
    """Tokens are random and long, so a plain SHA-256 is enough to look them up safely."""
    return hashlib.sha256(token.encode()).hexdigest()
