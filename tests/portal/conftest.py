"""The document fixtures of tests/services, for the portal's document downloads."""

from tests.services.conftest import case

__all__ = ["case"]
