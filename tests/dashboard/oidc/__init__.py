"""A real OpenID provider for the single sign-on tests: panva's oidc-provider (OpenID Certified)
from the npm registry, run by Node from `provider.mjs` beside this file on 127.0.0.1.

`make install` runs `npm ci` here. Without Node or the installed package the tests that need the
provider skip locally and FAIL under CI=true, as the browser tests do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
SCRIPT = HERE / "provider.mjs"
PACKAGE = HERE / "node_modules" / "oidc-provider" / "package.json"


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str | None


def unavailable() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not PACKAGE.exists():
        return f"oidc-provider is not installed in {HERE} (make install runs npm ci there)"
    return None


def require_provider() -> None:
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI requires the single sign-on tests)", pytrace=False)
    pytest.skip(reason)


@contextmanager
def running_provider(
    accounts: dict[str, dict[str, Any]], client: dict[str, Any]
) -> Iterator[Provider]:
    """The provider, knowing `accounts` (login name -> claims) and one `client`, until exit."""
    env = os.environ | {"OIDC_ACCOUNTS": json.dumps(accounts), "OIDC_CLIENTS": json.dumps([client])}
    process = subprocess.Popen(
        ["node", str(SCRIPT)],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the OpenID provider did not start (exit {process.wait(10)})")
        issuer = json.loads(line)["issuer"]
        yield Provider(issuer, client["client_id"], client.get("client_secret"))
    finally:
        process.terminate()
        process.wait(timeout=15)
