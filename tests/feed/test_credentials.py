"""Credentials come from environment variables only and are never shown."""

from __future__ import annotations

import pytest

from marketdata.live.credentials import credentials_from_env, missing_credentials
from marketdata.live.errors import MissingCredentialError


def test_a_missing_variable_is_named_in_one_line():
    with pytest.raises(MissingCredentialError) as caught:
        credentials_from_env(environ={"ALPACA_API_KEY": "id"})
    assert str(caught.value).startswith("ALPACA_SECRET_KEY is not set: ") and "\n" not in str(caught.value)
    with pytest.raises(MissingCredentialError, match=r"^ALPACA_API_KEY is not set"):
        credentials_from_env(environ={"ALPACA_API_KEY": "  ", "ALPACA_SECRET_KEY": "s"})
    with pytest.raises(MissingCredentialError, match=r"^PAPER_KEY is not set"):
        credentials_from_env("PAPER_KEY", "PAPER_SECRET", environ={"PAPER_SECRET": "s"})
    assert missing_credentials(environ={}) == ["ALPACA_API_KEY", "ALPACA_SECRET_KEY"]


def test_the_values_never_appear_in_their_repr():
    creds = credentials_from_env(environ={"ALPACA_API_KEY": "id-12345", "ALPACA_SECRET_KEY": "secret-67890"})
    assert (creds.key, creds.secret) == ("id-12345", "secret-67890")
    shown = repr(creds) + str(creds)
    assert "id-12345" not in shown and "secret-67890" not in shown and "ALPACA_SECRET_KEY" in shown
