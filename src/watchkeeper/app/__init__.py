"""The application: one `Watchkeeper` object holding every service (built the same way by the
CLI, the server and the tests, each service on first use), and `Operations` — what one person
does at one instant, the single path every face (API, dashboard, local CLI) acts through.

Its names load on first use, like the services: `build` alone does not import what the
operations reach for.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.app._build import Watchkeeper, build
    from watchkeeper.app._operations import Operations

__all__ = ["Operations", "Watchkeeper", "build"]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.app._build": ["Watchkeeper", "build"],
        "watchkeeper.app._operations": ["Operations"],
    },
)
