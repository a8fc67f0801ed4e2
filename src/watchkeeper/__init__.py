"""Watchkeeper keeps AI systems owned after go-live.

`import watchkeeper` is the SDK for serving code — `Client` and `SystemDisabled` — and loads no
server-side dependency (no database, web framework or YAML library). The SDK, and httpx with it,
loads on first use of either name: `wk` and the server import `watchkeeper.<module>`, which runs
this file first, and need not pay for a client they may not use.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.sdk import Client, SystemDisabled

__all__ = ["Client", "SystemDisabled"]
__getattr__, __dir__ = _exports(__name__, {"watchkeeper.sdk": __all__})
