"""The SDK serving code uses: `Client` and `SystemDisabled`. Depends on httpx and the standard
library only — never on the store or the server."""

from watchkeeper.sdk._client import Client, SystemDisabled

__all__ = ["Client", "SystemDisabled"]
