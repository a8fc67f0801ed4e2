"""Watchkeeper keeps AI systems owned after go-live.

`import watchkeeper` is the SDK for serving code — `Client` and `SystemDisabled` — and loads no
server-side dependency (no database, web framework or YAML library).
"""

from watchkeeper.sdk import Client, SystemDisabled

__all__ = ["Client", "SystemDisabled"]
