"""Rendering: the Jinja2 templates and stylesheet shipped inside the package, and the headers
every page carries.

Templates autoescape everything; the only markup passed in unescaped is the charts' SVG, built
from numbers and escaped names by `care.report.signal_chart`. The Content-Security-Policy allows
this site's own stylesheet and nothing else — no script, no remote font, no CDN — so a page
that renders here renders the same offline.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

HERE = Path(__file__).parent
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
ROLE_LABELS = {
    "owner": "Owner",
    "quality_monitor": "Quality monitor",
    "retraining_decider": "Retraining decider",
    "data_liaison": "Data liaison",
    "kill_authority": "Kill authority",
}
_TICKED = re.compile(r"`([^`]+)`")
# name -> (body, media type); read once, the package's files do not change while it runs
STATIC = {
    "dashboard.css": ((HERE / "static" / "dashboard.css").read_bytes(), "text/css; charset=utf-8"),
}


def _instant(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def when(value: datetime | str | None) -> str:
    """`2026-03-02 14:05 UTC`: every instant in the store is UTC, and says so."""
    instant = _instant(value)
    return f"{instant:%Y-%m-%d %H:%M} UTC" if instant else "—"


def day(value: datetime | str | None) -> str:
    instant = _instant(value)
    return f"{instant:%Y-%m-%d}" if instant else "—"


def iso(value: datetime | str | None) -> str:
    instant = _instant(value)
    return instant.isoformat() if instant else ""


def num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def hours(value: float | None) -> str:
    return "0" if not value else f"{value:g}"


def pretty(value: Any, limit: int = 4000) -> str:
    """JSON as a person reads it, cut short: an observation can be a whole document."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "\n… (cut)"


def ticks(text: str) -> Markup:
    """Service messages quote commands in backticks (`wk review x`); show those as code."""
    return Markup(_TICKED.sub(r"<code>\1</code>", str(escape(text))))


class _Environment(Environment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        """`row.name` on the plain dicts the views hand over, without first failing an attribute
        lookup: Jinja tries the attribute before the key, and the raised AttributeError cost
        the 200-system portfolio a third of its render time. Only a key named like a dict
        method (`items`) would now win over the method, and the views use no such key."""
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _environment() -> Environment:
    env = _Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when, day=day, iso=iso, num=num, hours=hours, pretty=pretty, ticks=ticks
    )
    env.globals.update(role_labels=ROLE_LABELS)
    return env


TEMPLATES = _environment()


def page(template: str, *, http_status: int = 200, **context: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(**context)
    return HTMLResponse(html, status_code=http_status, headers=HEADERS)
