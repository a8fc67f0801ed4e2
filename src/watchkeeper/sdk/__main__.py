"""`python -m watchkeeper.sdk replay FOLDER`: deliver a spool the SDK left on disk, on demand —
after an outage, from a machine whose serving processes will not start again, or to check that
nothing waits. It delivers as a client would (`Client.flush`), so it never sends a segment a
running process still writes or replays, and a batch delivered twice is stored once.

Exit 0 when the folder is empty afterwards, 1 when something remains (the server unreachable,
or a running process's segment), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from watchkeeper.sdk._log import Shipper
from watchkeeper.sdk._spool import Spool, key, parse_folder_name
from watchkeeper.settings import Settings

USAGE_ERROR, SOME_LEFT = 2, 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m watchkeeper.sdk", description="Tools for the SDK's spool.")
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    replay = verbs.add_parser("replay", help="deliver a spool left on disk")
    replay.add_argument("folder", type=Path, metavar="DIR", help="a spool-SYSTEM-KEY folder")
    replay.add_argument("--url", help="the server (default: $WATCHKEEPER_URL)")
    replay.add_argument("--token", help="an API token (default: $WATCHKEEPER_TOKEN)")
    replay.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to keep trying (default: 60)"
    )
    return parser


def _usage(message: str) -> int:
    print(f"python -m watchkeeper.sdk replay: {message}", file=sys.stderr)
    return USAGE_ERROR


def replay(folder: Path, url: str, token: str, timeout: float) -> int:
    parsed = parse_folder_name(folder.name)
    if parsed is None:
        inside = sorted(p.name for p in folder.glob("spool-*") if p.is_dir())
        hint = f"; it holds {', '.join(inside)}: name one" if inside else ""
        return _usage(f"{folder}: not an SDK spool folder (spool-SYSTEM-KEY){hint}")
    system, server = parsed
    if not key(url, system).endswith(f"-{server}"):
        print(f"note: {folder} was spooled for another server address than {url}", file=sys.stderr)
    spool = Spool(folder, max_bytes=0, segment_bytes=1)  # only read: nothing is appended
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "watchkeeper-sdk-replay"}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers) as http:
        shipper = Shipper(http, system, spool, batch_size=1, interval=0.5, max_queue=1)
        shipper.flush(timeout)
        shipper.close(1.0)
    left = spool.segments()
    print(f"{system}: delivered {shipper.delivered} item(s) to {url}")
    if shipper.refused:
        print(f"{system}: {shipper.refused} item(s) refused for good by the server (logged above)")
    if not left:
        print(f"nothing remains in {folder}")
        return 0
    size = sum(p.stat().st_size for p in left if p.exists())
    print(
        f"{len(left)} segment(s), {size} bytes, remain in {folder}: the server did not take "
        f"them within {timeout:g} s, or a running process holds them"
    )
    return SOME_LEFT


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    settings = Settings.from_env()
    url, token = options.url or settings.url, options.token or settings.token
    folder: Path = options.folder
    if not url:
        return _usage("no server: pass --url or set WATCHKEEPER_URL")
    if not token:
        return _usage("no API token: pass --token or set WATCHKEEPER_TOKEN")
    if not folder.is_dir():
        return _usage(f"{folder}: no such folder")
    if not (options.timeout > 0 and math.isfinite(options.timeout)):
        return _usage(f"--timeout must be a positive number of seconds, not {options.timeout:g}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return _usage(f"--url {url!r}: {exc}")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return _usage(f"--url {url!r}: expected http(s)://host[:port]")
    return replay(folder, url, token, options.timeout)


if __name__ == "__main__":
    sys.exit(main())
