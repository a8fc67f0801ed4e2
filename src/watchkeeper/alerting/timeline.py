"""An incident's timeline in words, for `wk incident show` and the dashboard's incident page.

The stored events name an alert by its fingerprint (`system/rule/subject`) and the actor of most
steps is Watchkeeper itself, so listing kind and actor reads "alert watchkeeper" once per alert.
Each event is told here with the rule and subject of the alert it is about — looked up among the
incident's alerts, whose rule is stored — and what that alert said.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def timeline(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of an incident's detail (`incidents.detail`), each with the `rule` it is about
    (None for steps about the whole incident) and its `text`."""
    rules = {a["fingerprint"]: a["rule"] for a in detail["alerts"]}
    told = []
    for event in detail["timeline"]:
        about = _alert(event, rules)
        told.append({**event, "rule": about[0] if about else None, "text": _text(event, about)})
    return told


def _alert(event: Mapping[str, Any], rules: Mapping[str, str]) -> tuple[str, str] | None:
    """The rule and subject of the alert an event names; a fingerprint the incident no longer
    lists is read as `system/rule/subject`."""
    fingerprint = (event.get("detail") or {}).get("alert")
    if not fingerprint:
        return None
    rule, _, subject = fingerprint.partition("/")[2].partition("/")
    return rules.get(fingerprint, rule), subject


TOOLS = {"slack": " via Slack", "pagerduty": " in PagerDuty"}


def _in(detail: Mapping[str, Any]) -> str:
    """Where a person acted, when not here: " via Slack", " in PagerDuty"."""
    return TOOLS.get(detail.get("via") or "", "")


def _text(event: Mapping[str, Any], about: tuple[str, str] | None) -> str:
    detail = event.get("detail") or {}
    kind = event["kind"]
    alert = f"{about[0]} on {about[1]}" if about else ""
    if kind == "opened":
        return f"Incident opened by alert {alert}: {detail.get('summary', '')}"
    if kind == "alert":
        return f"Alert {alert}: {detail.get('summary', '')}"
    if kind == "reopened":
        return f"Reopened by alert {alert}: {detail.get('reason', '')}"
    if kind == "alert.resolved":
        return f"Alert {alert} resolved: clear {detail.get('after')} times in a row"
    if kind == "raised":
        return f"Raised from {detail.get('from')} to {detail.get('to')}"
    if kind == "escalated":
        return (
            f"Escalated to level {detail.get('level')}: notified "
            f"{', '.join(detail.get('notify') or []) or 'nobody'}"
            + (f" ({detail['reason']})" if detail.get("reason") else "")
        )
    if kind == "acknowledged":
        return f"Acknowledged{_in(detail)} by {event['actor']}"
    if kind == "resolved":
        return f"Resolved{_in(detail)} by {event['actor']}: {detail.get('reason', '')}"
    if kind == "playbook":
        return f"Playbook {event['actor'].removeprefix('playbook:')}: {detail.get('summary', '')}"
    if kind == "decision.opened":
        return f"Decision {detail.get('decision')} opened for {detail.get('assigned_to')}"
    if kind in _SERIOUS:
        return _SERIOUS[kind](event, detail)
    words = ", ".join(f"{k}: {v}" for k, v in detail.items())
    return f"{kind.replace('.', ' ').capitalize()}" + (f" — {words}" if words else "")


def _when(text: str | None) -> str:
    return (text or "?")[:16].replace("T", " ") + " UTC"


def _classified(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    facts = [detail.get("article") or "Art. 3(49)"]
    facts += ["a death"] if detail.get("death") else []
    facts += ["widespread"] if detail.get("widespread") else []
    return (
        f"Classified serious by {event['actor']}: {', '.join(facts)}; report due "
        f"{_when(detail.get('report_due'))} ({detail.get('deadline_article')})"
    )


def _reminded(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    stage = "overdue" if detail.get("stage") == "overdue" else "due soon"
    told = ", ".join(detail.get("notify") or []) or "nobody"
    return f"Art. 73 report {stage} ({_when(detail.get('due'))}): told {told}"


def _changed(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    said = detail.get("justification")
    why = f"justified: {said}" if said else "NOT JUSTIFIED"
    return f"Change #{detail.get('change')} under the evidence hold: {detail.get('what')} — {why}"


def _justified(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    return (
        f"Change #{detail.get('change')} justified by {event['actor']}: "
        f"{detail.get('justification')}"
    )


def _reported(event: Mapping[str, Any], detail: Mapping[str, Any]) -> str:
    reference = f" (reference {detail['reference']})" if detail.get("reference") else ""
    late = "" if detail.get("on_time", True) else ", after its deadline"
    return (
        f"{str(detail.get('report', 'initial')).capitalize()} Art. 73 report sent to the "
        f"authority by {event['actor']}{reference}{late}"
    )


_SERIOUS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], str]] = {
    "serious": _classified,
    "serious.reminder": _reminded,
    "hold.change": _changed,
    "hold.justified": _justified,
    "report.submitted": _reported,
}
