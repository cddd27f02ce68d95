"""The API tests use the e2e tests' LEAN store (imported once per test session)."""

from tests.e2e.conftest import lean_store_root

__all__ = ["lean_store_root"]
