"""Hashing of every credential xmlcurl holds: SIP a1-hashes, node secrets, admin passwords."""
from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Node secrets are long machine-generated strings, so the lighter OWASP argon2id profile is enough;
# a worker verifies a node's right secret once, then decides every later one with a keyed digest
# (see NodeSecretCache), so neither good fetches nor floods of wrong secrets pay the hash.
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


#: What `NodeSecretCache.check` found: the secret is right, wrong, or needs argon2 that was not allowed.
GOOD, WRONG, UNDECIDED = "good", "wrong", "undecided"


class NodeSecretCache:
    """Verdicts on node secrets without argon2 once a worker knows the right one; bounded, per worker.

    Presented secrets are reduced to a keyed BLAKE2b digest (a MAC under a random per-process key;
    never stored). Per stored hash the cache keeps the digest of the secret that verified against it:
    a stored argon2 hash matches one secret only, so any other secret is wrong at the cost of one
    digest and a constant-time compare. argon2 runs only while a stored hash's right secret is not
    known yet (a new worker, a rotated secret), and the caller may refuse that work. A changed
    stored hash is a different key, so a rotated secret takes effect at once.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self._max = max_entries
        self._good: OrderedDict[str, bytes] = OrderedDict()
        self._wrong: OrderedDict[tuple[str, bytes], None] = OrderedDict()
        self._lock = threading.Lock()
        self._key = os.urandom(32)

    def digest(self, secret: str) -> bytes:
        # Keyed BLAKE2b is a MAC in one C call (hmac's wrapper costs more than the answer's lookup).
        return hashlib.blake2b(secret.encode("utf-8", "surrogateescape"), key=self._key, digest_size=32).digest()

    def remember_good(self, stored: str, digest: bytes) -> None:
        with self._lock:
            self._good[stored] = digest
            self._good.move_to_end(stored)
            while len(self._good) > self._max:
                self._good.popitem(last=False)

    def check(self, stored: str, secret: str, may_hash: Callable[[], bool] = lambda: True) -> str:
        """GOOD or WRONG; UNDECIDED when only argon2 could tell and `may_hash()` said no."""
        digest = self.digest(secret)
        with self._lock:
            known = self._good.get(stored)
            if known is not None:
                self._good.move_to_end(stored)
                return GOOD if hmac.compare_digest(known, digest) else WRONG
            if (stored, digest) in self._wrong:
                return WRONG
        if not may_hash():
            return UNDECIDED
        if _verify_node_secret(stored, secret):
            self.remember_good(stored, digest)
            return GOOD
        with self._lock:
            self._wrong[(stored, digest)] = None
            while len(self._wrong) > self._max:
                self._wrong.popitem(last=False)
        return WRONG

    def verify(self, stored: str, secret: str) -> bool:
        """Whether `secret` matches the stored argon2 hash (argon2 at most once per right secret)."""
        return self.check(stored, secret) == GOOD
