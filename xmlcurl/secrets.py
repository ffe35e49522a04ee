"""Hashing of every credential xmlcurl holds: SIP a1-hashes, node secrets, admin passwords."""
from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Node secrets are long machine-generated strings, so the lighter OWASP argon2id profile is enough;
# a verified secret is remembered per worker so a fetch never pays the hash (see NodeSecretCache).
_node_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_admin_hasher = PasswordHasher()


def sip_a1_hash(username: str, realm: str, password: str) -> str:
    """md5(username:realm:password), the digest credential sofia checks (`a1-hash`)."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode("utf-8")).hexdigest()


def hash_node_secret(secret: str) -> str:
    return _node_hasher.hash(secret)


def hash_admin_password(password: str) -> str:
    return _admin_hasher.hash(password)


def verify_admin_password(stored: str, password: str) -> bool:
    try:
        return _admin_hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_node_secret(stored: str, secret: str) -> bool:
    try:
        return _node_hasher.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False


class NodeSecretCache:
    """Remembers argon2 verdicts per (stored hash, presented secret), bounded, per worker.

    Keys hold a keyed digest of the presented secret, never the secret itself; a changed stored
    hash is a different key, so a rotated secret takes effect at once.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, bytes], bool] = OrderedDict()
        self._lock = threading.Lock()
        self._key = os.urandom(32)

    def verify(self, stored: str, secret: str) -> bool:
        # Keyed BLAKE2b is a MAC in one C call (hmac's wrapper costs more than the answer's lookup).
        digest = hashlib.blake2b(secret.encode("utf-8", "surrogateescape"), key=self._key, digest_size=32).digest()
        key = (stored, digest)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        verdict = _verify_node_secret(stored, secret)
        with self._lock:
            self._entries[key] = verdict
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return verdict
