"""Secrets xmlcurl must send in plaintext, encrypted at rest with Fernet: event-socket passwords and
session database DSNs (the event socket and FreeSWITCH's database layer need the plaintext back)."""
from __future__ import annotations

import base64
from typing import Any, Mapping

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class EslKeyError(RuntimeError):
    """No usable key, or a stored password that this key cannot decrypt."""


def fernet(settings: Mapping[str, Any]) -> Fernet:
    """XMLCURL_ESL_KEY when set, else a key derived (HKDF-SHA256) from XMLCURL_SECRET_KEY."""
    key = settings.get("ESL_KEY")
    if key:
        try:
            return Fernet(key)
        except ValueError:
            raise EslKeyError("XMLCURL_ESL_KEY must be a Fernet key (Fernet.generate_key())") from None
    secret = settings.get("SECRET_KEY")
    if not secret:
        raise EslKeyError("set XMLCURL_ESL_KEY or XMLCURL_SECRET_KEY to store and use event-socket passwords "
                          "and session database DSNs")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"xmlcurl esl password v1").derive(
        secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(settings: Mapping[str, Any], plaintext: str, what: str = "an event-socket password") -> str:
    """The value to store for a one-line secret (nodes.esl_password_enc, nodes.session_db_dsn_enc)."""
    if not plaintext or any(ch in plaintext for ch in "\r\n"):
        raise ValueError(f"{what} must be non-empty and on one line")
    return fernet(settings).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_secret(settings: Mapping[str, Any], token: str, what: str = "event-socket password") -> str:
    try:
        return fernet(settings).decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise EslKeyError(f"the stored {what} does not decrypt with this key "
                          "(XMLCURL_ESL_KEY or XMLCURL_SECRET_KEY changed?)") from None


def encrypt_password(settings: Mapping[str, Any], plaintext: str) -> str:
    """The value to store in nodes.esl_password_enc."""
    return encrypt_secret(settings, plaintext)


def decrypt_password(settings: Mapping[str, Any], token: str) -> str:
    return decrypt_secret(settings, token)
