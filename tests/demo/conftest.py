"""The headless browser the dashboard's tests use, for the evidence bundle's HTML."""

from tests.dashboard.test_browser import chromium

__all__ = ["chromium"]
