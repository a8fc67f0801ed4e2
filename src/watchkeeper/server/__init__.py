"""The HTTP face: `create_app(watchkeeper)` (FastAPI), `serve` (uvicorn, graceful shutdown), and
`LiveServer` for tests and benchmarks that need a real socket."""

from watchkeeper.server._app import create_app
from watchkeeper.server._run import LiveServer, serve

__all__ = ["LiveServer", "create_app", "serve"]
