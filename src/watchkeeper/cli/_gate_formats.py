"""The gate's reports in the forms CI and code review read: GitHub Actions workflow commands
(annotations on the pull request's diff) and a SARIF 2.1.0 log (code scanning, and any other
SARIF viewer).

Pure: reports as `GateReport.to_dict()` gives them (and the server sends), plus where each
system is declared, in; lines or a plain dict out. Where is a `Spot` already relative to the
repository root (the command works that out), because both GitHub and SARIF viewers resolve a
path against the checkout, not against the directory the gate ran in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
# The SARIF base the relative artifact URIs hang from: the root of the repository's checkout.
SOURCE_ROOT = "%SRCROOT%"
# Stable across edits that move lines, so code scanning tracks one alert per system and check.
FINGERPRINT = "watchkeeperCheck/v1"

Report = Mapping[str, Any]
# Where in a manifest each gate check looks. Its annotation points at that field when the file
# writes it, else (a missing field, a gate the server judged) at the system's declaration.
LOOKS_AT: dict[str, tuple[str, ...]] = {
    "charter.owner": ("spec", "charter", "owner"),
    "charter.quality_monitor": ("spec", "charter", "quality_monitor"),
    "charter.retraining_decider": ("spec", "charter", "retraining_decider"),
    "charter.data_liaison": ("spec", "charter", "data_liaison"),
    "charter.kill_authority": ("spec", "charter", "kill_authority"),
    "charter.two_kill_authorities": ("spec", "charter", "kill_authority"),
    "charter.acknowledged": ("spec", "charter"),
    "runbook.healthy": ("spec", "runbook", "healthy"),
    "runbook.drop_alert": ("spec", "runbook", "alerts"),
    "runbook.escalation": ("spec", "runbook", "escalation"),
    "runbook.playbooks": ("spec", "runbook", "playbooks"),
    "runbook.rehearsed": ("spec", "runbook"),
    "upstream.contracts": ("spec", "upstream"),
    "evals.scheduled": ("spec", "evals"),
    "care.budget": ("spec", "care"),
    "kill_switch.defined": ("spec", "kill_switch"),
    "retention.six_months": ("spec", "retention", "keep"),
}


@dataclass(frozen=True)
class Spot:
    """Where a system (or one of its fields) is written: `path` relative to the repository
    root in POSIX form (or absolute, for a file outside it), 1-based line and column."""

    path: str
    line: int
    column: int = 1


# A system's declaration by its name; a check's field by (system, check id).
Spots = Mapping[str | tuple[str, str], Spot]


def _spot_of(spots: Spots, system: str, check_id: str) -> Spot | None:
    return spots.get((system, check_id)) or spots.get(system)


def github_commands(reports: Sequence[Report], spots: Spots) -> list[str]:
    """One `::error` per failed check and one `::warning` per check that could not be checked
    (the gate read no store, so acknowledgements and rehearsals are unknown, not failed), at
    the field the check looks at (`LOOKS_AT`) or the system's declaration; then a plain
    summary line per system for the log."""
    lines: list[str] = []
    for report in reports:
        system = str(report["system"])
        for check in report["checks"]:
            if check["passed"] is False:
                level, body = "error", _failure_text(check)
            elif check["passed"] is None:
                level, body = "warning", f"not checked: {check['detail']}\n{check['why']}"
            else:
                continue
            properties = _github_location(_spot_of(spots, system, check["id"]))
            properties.append(("title", f"watchkeeper gate: {system} {check['id']}"))
            joined = ",".join(f"{k}={_escape_property(v)}" for k, v in properties)
            lines.append(f"::{level} {joined}::{_escape_data(body)}")
        lines.append(_summary(report))
    return lines


def sarif_log(
    reports: Sequence[Report],
    spots: Spots,
    *,
    version: str,
    root_uri: str | None = None,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one run: a rule per gate check, a result (level error) per failed
    check. `root_uri` (a `file:` URI ending in /) says where %SRCROOT% is, when known."""
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for report in reports:
        for check in report["checks"]:
            rule = rules.setdefault(check["id"], _rule(check))
            if check["passed"] is not False:
                continue
            rule.setdefault("help", {"text": check["fix"]})
            results.append(_result(report, check, list(rules).index(check["id"]), spots))
    driver = {"name": "watchkeeper", "version": version, "rules": list(rules.values())}
    run: dict[str, Any] = {"tool": {"driver": driver}, "columnKind": "unicodeCodePoints"}
    if root_uri is not None:
        run["originalUriBaseIds"] = {SOURCE_ROOT: {"uri": root_uri}}
    run["results"] = results
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _rule(check: Mapping[str, Any]) -> dict[str, Any]:
    """A gate check as a SARIF rule: its title, and why it blocks go-live. The help (the fix)
    is the first failure's, added when one fails."""
    return {
        "id": check["id"],
        "shortDescription": {"text": f"{check['id']}: {check['title']}"},
        "fullDescription": {"text": check["why"]},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["watchkeeper", "go-live-gate"]},
    }


def _result(report: Report, check: Mapping[str, Any], index: int, spots: Spots) -> dict[str, Any]:
    system = str(report["system"])
    result: dict[str, Any] = {
        "ruleId": check["id"],
        "ruleIndex": index,
        "level": "error",
        "message": {"text": f"{system}: {_failure_text(check)}"},
        "partialFingerprints": {FINGERPRINT: f"{system}/{check['id']}"},
        "properties": {"system": system, "score": report["score"]},
    }
    spot = _spot_of(spots, system, check["id"])
    if spot is not None:
        physical = {
            "artifactLocation": _artifact(spot.path),
            "region": {"startLine": spot.line, "startColumn": spot.column},
        }
        result["locations"] = [{"physicalLocation": physical}]
    return result


def _artifact(path: str) -> dict[str, str]:
    """A relative path hangs from %SRCROOT%; an absolute one (outside the repository) is a
    `file:` URI of its own."""
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": posix.as_uri()}
    return {"uri": quote(str(posix)), "uriBaseId": SOURCE_ROOT}


def _failure_text(check: Mapping[str, Any]) -> str:
    detail = f" ({check['detail']})" if check["detail"] else ""
    return f"{check['title']}{detail}\n{check['why']}\nfix: {check['fix']}"


def _summary(report: Report) -> str:
    verdict = "READY" if report["ready"] else "NOT READY"
    failed = sum(1 for c in report["checks"] if c["passed"] is False)
    unchecked = len(report["not_checked"])
    return (
        f"{report['system']}: {verdict}, score {report['score']}/100, "
        f"{failed} check(s) failed, {unchecked} not checked"
    )


def _github_location(spot: Spot | None) -> list[tuple[str, str]]:
    if spot is None:
        return []
    return [("file", spot.path), ("line", str(spot.line)), ("col", str(spot.column))]


def _escape_data(text: str) -> str:
    """GitHub's rule for a workflow command's message: %, CR and LF are percent-encoded, so a
    value from a manifest can neither break the line nor start a command of its own."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """A property value also escapes the `:` and `,` that end it."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
