"""Every setting declared once (name, default, help): feeds the CLI's help, the README and a test
that fails when one is undocumented."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    env: str
    default: str | None
    help: str


SETTINGS = (
    Setting(
        "WATCHKEEPER_DB",
        "sqlite:///.watchkeeper/watchkeeper.db",
        "SQLAlchemy URL of the store; e.g. postgresql+psycopg://user@host/db in production.",
    ),
    Setting(
        "WATCHKEEPER_URL", None, "Server URL: when set (with a token) the CLI acts through it."
    ),
    Setting("WATCHKEEPER_TOKEN", None, "API token of the acting person, for client mode and SDK."),
    Setting("WATCHKEEPER_USER", None, "Acting person's email in local mode (default: $USER)."),
    Setting("WATCHKEEPER_SMTP", None, "host:port of the SMTP server used by email channels."),
    Setting(
        "WATCHKEEPER_PUBLIC_URL",
        None,
        "Base URL people reach the server at, for links in notifications (default: the URL).",
    ),
    Setting(
        "WATCHKEEPER_SECRET",
        None,
        "Key that signs acknowledge links, webhook bodies, dashboard sessions and the audit "
        "chain; set the same on every replica.",
    ),
    Setting(
        "WATCHKEEPER_EVAL_MODULES",
        None,
        "Comma-separated module prefixes whose eval targets and scorers the server and the "
        "scheduler may import unattended (default: none; evals run where the code lives).",
    ),
    Setting(
        "WATCHKEEPER_EVAL_DATA",
        None,
        "Comma-separated directories unattended evals may read golden sets from (default: none).",
    ),
    Setting(
        "WATCHKEEPER_REGISTRARS",
        None,
        "Who may register a new system over the API besides admins: emails or team names, "
        "comma-separated (default: admins only).",
    ),
    Setting(
        "WATCHKEEPER_AUDIT_CHECKPOINTS",
        None,
        "File the audit chain's signed checkpoints are appended to, outside the database "
        "(default: beside a SQLite store; none for PostgreSQL unless set). Needs the secret.",
    ),
    Setting(
        "WATCHKEEPER_SLACK_SIGNING_SECRET",
        None,
        "Your Slack app's signing secret: with it, incident buttons in Slack act through "
        "POST /api/v1/integrations/slack/actions (default: Slack actions are refused).",
    ),
    Setting(
        "WATCHKEEPER_PAGERDUTY_WEBHOOK_SECRET",
        None,
        "Secret of the PagerDuty v3 webhook subscription: with it, acknowledging or resolving "
        "in PagerDuty does so here (POST /api/v1/integrations/pagerduty/webhook).",
    ),
    Setting(
        "WATCHKEEPER_OIDC_ISSUER",
        None,
        "OpenID Connect issuer URL for dashboard single sign-on (found by discovery); needs "
        "the client id, WATCHKEEPER_SECRET and WATCHKEEPER_PUBLIC_URL (default: tokens only).",
    ),
    Setting(
        "WATCHKEEPER_OIDC_CLIENT_ID",
        None,
        "Client id of Watchkeeper's app at the identity provider; its redirect URI is "
        "WATCHKEEPER_PUBLIC_URL + /signin/oidc/callback.",
    ),
    Setting(
        "WATCHKEEPER_OIDC_CLIENT_SECRET",
        None,
        "That app's client secret (default: none, a public client that proves itself by PKCE).",
    ),
)


@dataclass(frozen=True)
class Settings:
    db: str = "sqlite:///.watchkeeper/watchkeeper.db"
    url: str | None = None
    token: str | None = None
    user: str | None = None
    smtp: str | None = None
    public_url: str | None = None
    secret: str | None = None
    eval_modules: tuple[str, ...] = ()
    eval_data: tuple[str, ...] = ()
    registrars: tuple[str, ...] = ()
    audit_checkpoints: str | None = None
    slack_signing_secret: str | None = None
    pagerduty_webhook_secret: str | None = None
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {s.env: env.get(s.env) or s.default for s in SETTINGS}
        return cls(
            db=values["WATCHKEEPER_DB"] or cls.db,
            url=values["WATCHKEEPER_URL"],
            token=values["WATCHKEEPER_TOKEN"],
            user=values["WATCHKEEPER_USER"],
            smtp=values["WATCHKEEPER_SMTP"],
            public_url=values["WATCHKEEPER_PUBLIC_URL"],
            secret=values["WATCHKEEPER_SECRET"],
            eval_modules=_items(values["WATCHKEEPER_EVAL_MODULES"]),
            eval_data=_items(values["WATCHKEEPER_EVAL_DATA"]),
            registrars=tuple(r.lower() for r in _items(values["WATCHKEEPER_REGISTRARS"])),
            audit_checkpoints=values["WATCHKEEPER_AUDIT_CHECKPOINTS"],
            slack_signing_secret=values["WATCHKEEPER_SLACK_SIGNING_SECRET"],
            pagerduty_webhook_secret=values["WATCHKEEPER_PAGERDUTY_WEBHOOK_SECRET"],
            oidc_issuer=values["WATCHKEEPER_OIDC_ISSUER"],
            oidc_client_id=values["WATCHKEEPER_OIDC_CLIENT_ID"],
            oidc_client_secret=values["WATCHKEEPER_OIDC_CLIENT_SECRET"],
        )

    def actor(self) -> str:
        """Who is acting in local mode: WATCHKEEPER_USER, else `local:<os user>`."""
        if self.user:
            return self.user.strip().lower()
        try:
            return f"local:{getpass.getuser()}"
        except OSError:
            return "local:unknown"


def _items(value: str | None) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped (a trailing comma is not an empty entry)."""
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())
