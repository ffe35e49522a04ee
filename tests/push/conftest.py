"""Event-socket doubles on the demo nodes' loopback addresses."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from tests.push.esl_double import EslDouble

ESL_KEY = Fernet.generate_key().decode()
DEMO_ADDRESSES = {"router-1": "127.0.0.10", "media-1": "127.0.0.11", "media-2": "127.0.0.12"}


@pytest.fixture
def doubles():
    """One double per demo node, at the node's address; closed at the end."""
    made = {name: EslDouble(address, f"{name}-esl") for name, address in DEMO_ADDRESSES.items()}
    yield made
    for double in made.values():
        double.close()
