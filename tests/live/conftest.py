"""The feed tests' fixtures (a LEAN store, test credentials), for the tape's round trip through the real SDK."""

from tests.feed.conftest import credentials, lean_store_root

__all__ = ["credentials", "lean_store_root"]
