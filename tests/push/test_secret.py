"""Event-socket passwords: encrypted at rest, readable back only with the same key."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from xmlcurl.push.secret import EslKeyError, decrypt_password, encrypt_password

DERIVED = {"ESL_KEY": None, "SECRET_KEY": "s" * 48}


def test_a_key_derived_from_the_secret_key_round_trips():
    token = encrypt_password(DERIVED, "ClueCon")
    assert "ClueCon" not in token
    assert decrypt_password(DERIVED, token) == "ClueCon"


def test_a_dedicated_esl_key_wins_over_the_secret_key():
    dedicated = {**DERIVED, "ESL_KEY": Fernet.generate_key().decode()}
    token = encrypt_password(dedicated, "ClueCon")
    assert decrypt_password(dedicated, token) == "ClueCon"
    with pytest.raises(EslKeyError, match="does not decrypt"):
        decrypt_password(DERIVED, token)


@pytest.mark.parametrize("settings", [{"ESL_KEY": None, "SECRET_KEY": None}, {"ESL_KEY": "not-a-key"}])
def test_missing_or_malformed_keys_are_clear_errors(settings):
    with pytest.raises(EslKeyError):
        encrypt_password(settings, "ClueCon")


@pytest.mark.parametrize("password", ["", "two\nlines"])
def test_passwords_must_be_one_non_empty_line(password):
    with pytest.raises(ValueError):
        encrypt_password(DERIVED, password)
