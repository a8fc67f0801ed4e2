"""Eval runs: a golden set through a system's callable, scored case by case, and compared with
the previous run.

The runner is the core and the caller is the shell: it is given the instant the run starts (and,
if it likes, the timer that measures durations), it reports progress through a callback, and it
returns a plain record that serialises to JSON (`EvalRun.to_dict`) for the store to keep and for
`regression_diff` to read back later. It prints nothing and stores nothing.

A case never aborts a run: a target that raises, hangs past the timeout, or returns something the
scorer chokes on is recorded as a failed case with the reason, and the other cases carry on.

Who runs a manifest's suite decides what it may touch. A person running `wk eval run` on their
own checkout runs their system's code; a run nobody attends (the server's eval route, the
scheduler's job in any process) follows the operator's `EvalPolicy`, because a manifest arrives
from anyone who may apply one and must not choose the code or the files a server runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from watchkeeper.clock import as_utc
from watchkeeper.errors import ActionError
from watchkeeper.evals._case import Case
from watchkeeper.evals._importing import (
    DOTTED,
    EvalError,
    SearchPath,
    describe_exception,
    import_object,
    module_allowed,
    outside_allowed,
)
from watchkeeper.evals.scorers import (
    LabelMetrics,
    Score,
    Scorer,
    get_scorer,
    is_label,
    label_metrics,
)
from watchkeeper.jsonvalue import plain
from watchkeeper.manifest import EvalSuite

RUN_FORMAT = 1
"""Bumped when `EvalRun.to_dict` changes shape, so stored runs are read knowingly."""

UNTAGGED = "(untagged)"
"""The group a flipped case without tags is listed under."""

_KEYS = ("id", "input", "expected", "tags")
_MAX_PROBLEMS = 50

# --- golden sets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    path: str
    sha256: str
    cases: tuple[Case, ...]


def load_dataset(path: str | PathLike[str]) -> Dataset:
    """Read a JSONL golden set: one `{"id"?, "input", "expected", "tags"?}` object per line,
    blank lines ignored. Unknown keys are refused because a misspelt `"tag"` would otherwise
    silently drop a case from its group. The hash is of the bytes, so any edit shows in the run
    record and a diff can tell a changed model from a changed golden set."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EvalError([f"{name}: cannot read the golden set ({exc.strerror or exc})"]) from None
    cases: list[Case] = []
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        case, problem = _parse_line(raw, number)
        if problem:
            problems.append(f"{name}:{number}: {problem}")
        elif case is not None and case.id in first_line:
            problems.append(
                f"{name}:{number}: duplicate id {case.id!r} (first on line {first_line[case.id]})"
            )
        elif case is not None:
            first_line[case.id] = number
            cases.append(case)
    if not cases and not problems:
        problems.append(f"{name}: no cases (a golden set has one JSON object per line)")
    if problems:
        shown = problems[:_MAX_PROBLEMS]
        if len(problems) > _MAX_PROBLEMS:
            shown.append(f"{name}: … and {len(problems) - _MAX_PROBLEMS} more problems")
        raise EvalError(shown)
    return Dataset(name, hashlib.sha256(data).hexdigest(), tuple(cases))


def _parse_line(raw: bytes, number: int) -> tuple[Case | None, str | None]:
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start + 1})"
    if not text.strip():
        return None, None
    try:
        item = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} (column {exc.colno})"
    except ValueError as exc:
        return None, f"not valid JSON: {exc}"
    if not isinstance(item, dict):
        return None, f'expected an object with "input" and "expected", not a {type(item).__name__}'
    wrong = [
        *(f'unknown key "{k}" (allowed: {", ".join(_KEYS)})' for k in item if k not in _KEYS),
        *(f'missing "{k}"' for k in ("input", "expected") if k not in item),
    ]
    case_id = item.get("id", str(number))
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str) or not case_id.strip():
        wrong.append(f'"id" must be a non-empty string, not {json.dumps(case_id)}')
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        wrong.append(f'"tags" must be a list of non-empty strings, not {json.dumps(tags)}')
    if wrong:
        return None, "; ".join(wrong)
    return Case(case_id, item["input"], item["expected"], tuple(dict.fromkeys(tags))), None


def import_target(
    spec: str, search_path: SearchPath = (), *, allowed: Sequence[str] | None = None
) -> Callable[..., Any]:
    """The system's callable at `module:function`, looked up in `search_path` (for a manifest:
    its directory, then the working directory) before the installed packages; with `allowed`,
    only one defined under those module prefixes."""
    return import_object(spec, search_path, what="target", allowed=allowed)


# --- what a run nobody attends may touch ---------------------------------------------------


@dataclass(frozen=True)
class EvalPolicy:
    """The operator's answer to "which code and which files may this process run evals with,
    unattended" (WATCHKEEPER_EVAL_MODULES, WATCHKEEPER_EVAL_DATA). Empty, the default, allows
    nothing: evals then run where the system's code lives, and `wk eval run` uploads the result.

    `roots` holds each allowed directory as configured and as resolved, so a root that is itself
    a symlink still contains the paths written through it."""

    modules: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()

    @classmethod
    def configure(cls, modules: Sequence[str], data: Sequence[str | PathLike[str]]) -> EvalPolicy:
        """From the settings; relative directories are taken from the working directory now."""
        bad = [module for module in modules if not DOTTED.fullmatch(module)]
        if bad:
            raise ActionError(
                "invalid",
                f"WATCHKEEPER_EVAL_MODULES: {', '.join(map(repr, bad))} is not a module name "
                "such as support_bot or claims.evals",
            )
        named = [os.path.abspath(entry) for entry in data]
        roots = dict.fromkeys([*named, *map(os.path.realpath, named)])
        return cls(tuple(modules), tuple(roots))

    def refusals(self, spec: EvalSuite, base: str | PathLike[str]) -> list[str]:
        """Why an unattended run of `spec` may not go ahead (none: it may). Modules are judged
        by name before anything is imported; a golden set is resolved on disk only once its
        path lies under an allowed root, so the answer never says whether a file exists
        elsewhere."""
        reasons = [
            f"{what} {name!r}: {outside_allowed(module)}"
            for what, name in (("target", spec.target), ("scorer", spec.scorer))
            if ":" in name and not module_allowed(module := name.partition(":")[0], self.modules)
        ]
        if self.dataset(spec, base) is None:
            reasons.append(f"golden set {spec.dataset!r} is not under WATCHKEEPER_EVAL_DATA")
        return reasons

    def dataset(self, spec: EvalSuite, base: str | PathLike[str]) -> Path | None:
        """The golden set's real path when both it and the path as written lie under an allowed
        root (a symlink leading out is refused), else None."""
        written = os.path.normpath(os.path.join(base, spec.dataset))
        if not within(written, self.roots):
            return None
        real = os.path.realpath(written)
        return Path(real) if within(real, self.roots) else None


def within(path: str, roots: Sequence[str]) -> bool:
    """Whether absolute, normalised `path` is one of `roots` or lies below one."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def choose_suites(system: str, suites: Sequence[EvalSuite], suite: str | None) -> list[EvalSuite]:
    """The suites a run asked for: one by name, or all of them."""
    chosen = [s for s in suites if suite is None or s.suite == suite]
    if not chosen:
        known = ", ".join(s.suite for s in suites) or "none"
        wanted = "suites" if suite is None else f"suite {suite!r}"
        raise ActionError("invalid", f"{system} has no eval {wanted} (known: {known})")
    return chosen


def run_spec(
    spec: EvalSuite,
    base: str | PathLike[str],
    now: datetime,
    *,
    policy: EvalPolicy | None = None,
    progress: Progress | None = None,
) -> EvalRun:
    """Run one suite of a manifest in this process. Attended (no policy): the golden set's path
    is taken from `base`, and `base` and the golden set's folder are searched for the target
    first, as a checkout of the system expects. Unattended: only what `policy` allows, imported
    from the installed packages alone — no folder a manifest names is ever searched."""
    if policy is None:
        path = Path(base, spec.dataset)
        search: list[str] = [str(base), str(path.parent)]
        allowed = None
    else:
        reasons = policy.refusals(spec, base)
        resolved = policy.dataset(spec, base)
        if reasons or resolved is None:
            raise ActionError("forbidden", f"eval suite {spec.suite}: " + "; ".join(reasons))
        path, search, allowed = resolved, [], policy.modules
    dataset = load_dataset(path)
    target = import_target(spec.target, search, allowed=allowed)
    scorer = get_scorer(spec.scorer, search_path=search[:1], allowed=allowed)
    return run_suite(dataset, target, scorer, now=now, progress=progress)


# --- run records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseResult:
    id: str
    input: Any
    expected: Any
    output: Any
    score: float
    passed: bool
    detail: str
    error: str | None
    timed_out: bool
    duration_ms: float
    tags: tuple[str, ...]


@dataclass(frozen=True)
class TagSummary:
    count: int
    passed: int
    pass_rate: float
    mean_score: float


@dataclass(frozen=True)
class Summary:
    count: int
    passed: int
    errors: int
    timeouts: int
    mean_score: float
    pass_rate: float
    by_tag: dict[str, TagSummary]
    labels: LabelMetrics | None

    def metrics(self) -> dict[str, float]:
        """The run as flat numbers: what `from: eval` signals read and run-to-run deltas use."""
        values = {
            "mean_score": self.mean_score,
            "pass_rate": self.pass_rate,
            "error_rate": _ratio(self.errors, self.count),
            "timeout_rate": _ratio(self.timeouts, self.count),
        }
        if self.labels is not None:
            values["accuracy"] = self.labels.accuracy
            values["macro_precision"] = self.labels.macro_precision
            values["macro_recall"] = self.labels.macro_recall
            values["macro_f1"] = self.labels.macro_f1
        values.update({f"pass_rate[{tag}]": s.pass_rate for tag, s in self.by_tag.items()})
        return values


@dataclass(frozen=True)
class EvalRun:
    started_at: datetime
    duration_ms: float
    dataset: str
    dataset_sha256: str
    target: str
    scorer: str
    scorer_options: dict[str, Any]
    model_version: str | None
    summary: Summary
    cases: tuple[CaseResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only, with a `format` number for readers of stored runs."""
        return {"format": RUN_FORMAT, **_RUN.dump_python(self, mode="json")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalRun:
        if data.get("format") != RUN_FORMAT:
            found = data.get("format")
            raise EvalError([f"eval run record has format {found!r}; this version reads 1"])
        try:
            return _RUN.validate_python({k: v for k, v in data.items() if k != "format"})
        except ValidationError as exc:
            raise EvalError(
                [
                    f"eval run record: {'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}"
                    for e in exc.errors()
                ]
            ) from None


_RUN = TypeAdapter(EvalRun)


def received(data: Mapping[str, Any], now: datetime) -> EvalRun:
    """A run made where the system's code lives and uploaded, as this process keeps it: dated
    when it arrives (another machine's clock must not move the schedule or the order of runs)
    and summarised from its cases (the pass rate kept is the one its cases show)."""
    run = EvalRun.from_dict(data)
    first: dict[str, int] = {}
    problems = []
    for index, case in enumerate(run.cases):
        if case.id in first:
            problems.append(
                f"run.cases[{index}].id: duplicate id {case.id!r} (first at [{first[case.id]}])"
            )
        first.setdefault(case.id, index)
    if problems:
        raise EvalError(problems[:_MAX_PROBLEMS])
    labels = run.summary.labels is not None
    return replace(run, started_at=as_utc(now), summary=_summarise(run.cases, labels))


# --- running -------------------------------------------------------------------------------

Progress = Callable[[int, int, CaseResult], None]
"""Called as (cases done, cases in all, the case just finished), on the caller's thread."""

Timer = Callable[[], float]

Outcome = tuple[Any, str | None]
"""A call's result, or why there is none (the error described where it was raised)."""


def run_suite(
    dataset: Dataset,
    target: Callable[..., Any],
    scorer: Scorer,
    *,
    now: datetime,
    concurrency: int = 8,
    timeout: float | None = 10.0,
    progress: Progress | None = None,
    model_version: str | None = None,
    timer: Timer = time.perf_counter,
) -> EvalRun:
    """Run every case through `target(input)` (sync or `async def`), at most `concurrency` at a
    time, each within `timeout` seconds (target and scoring together; None for no limit).

    A sync target runs on a thread of its own per case, so one that hangs past its timeout is
    abandoned rather than holding a worker: the run finishes on time and the stray thread ends
    with the process. Async targets share one event loop and are cancelled on timeout. Call this
    from synchronous code; a server runs it in a worker thread.
    """
    if concurrency < 1:
        raise EvalError([f"concurrency must be at least 1, not {concurrency}"])
    if timeout is not None and not timeout > 0:
        raise EvalError([f"timeout must be a positive number of seconds, not {timeout}"])
    started = timer()
    results = asyncio.run(
        _run_cases(dataset.cases, target, scorer, concurrency, timeout, progress, timer)
    )
    return EvalRun(
        started_at=as_utc(now),
        duration_ms=_ms(timer() - started),
        dataset=dataset.path,
        dataset_sha256=dataset.sha256,
        target=_name_of(target),
        scorer=scorer.name,
        scorer_options=dict(scorer.options),
        model_version=model_version,
        summary=_summarise(results, scorer.labels),
        cases=tuple(results),
    )


async def _run_cases(
    cases: Sequence[Case],
    target: Callable[..., Any],
    scorer: Scorer,
    concurrency: int,
    timeout: float | None,
    progress: Progress | None,
    timer: Timer,
) -> list[CaseResult]:
    loop = asyncio.get_running_loop()
    call: Callable[[Any], Awaitable[Outcome]] = (
        partial(_awaited, target) if _is_async(target) else partial(_in_thread, loop, target)
    )
    results: dict[int, CaseResult] = {}
    pending = iter(enumerate(cases))  # shared by the workers: each takes the next case

    async def worker() -> None:
        for index, case in pending:
            started = timer()
            try:
                async with asyncio.timeout(timeout):
                    output, score, error = await _attempt(case, call, scorer, loop)
                timed_out = False
            except TimeoutError:
                output, score, error = None, None, f"timed out after {timeout:g}s"
                timed_out = True
            results[index] = CaseResult(
                id=case.id,
                input=case.input,
                expected=case.expected,
                output=plain(output),
                score=score.value if score else 0.0,
                passed=score is not None and score.passed,
                detail=score.detail if score else "",
                error=error,
                timed_out=timed_out,
                duration_ms=_ms(timer() - started),
                tags=case.tags,
            )
            if progress is not None:
                progress(len(results), len(cases), results[index])

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(cases)))))
    return [results[index] for index in range(len(cases))]


async def _attempt(
    case: Case,
    call: Callable[[Any], Awaitable[Outcome]],
    scorer: Scorer,
    loop: asyncio.AbstractEventLoop,
) -> tuple[Any, Score | None, str | None]:
    output, error = await call(case.input)
    if error is not None:
        return None, None, error
    if inspect.iscoroutine(output):
        output.close()
        return None, None, "the target returned a coroutine: declare it `async def`"
    score, error = await _in_thread(loop, scorer, output, case.expected, case)
    if error is not None:
        return output, None, f"scorer {scorer.name!r}: {error}"
    return output, score, None


async def _awaited(target: Callable[..., Awaitable[Any]], value: Any) -> Outcome:
    try:
        return await target(value), None
    except Exception as exc:
        return None, describe_exception(exc)


def _in_thread(
    loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any
) -> asyncio.Future[Outcome]:
    """`fn(*args)` on a daemon thread, as a future of the loop. The error is described on the
    thread, so it points at the line that raised; an outcome that arrives after the future was
    given up on (timeout) or after the run ended is dropped."""
    future: asyncio.Future[Outcome] = loop.create_future()

    def settle(outcome: Outcome) -> None:
        if not future.done():
            future.set_result(outcome)

    def work() -> None:
        try:
            outcome: Outcome = (fn(*args), None)
        except BaseException as exc:  # even sys.exit() in a target must not end the run
            outcome = (None, describe_exception(exc))
        with suppress(RuntimeError):  # the loop is closed: the run is over
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=work, name="watchkeeper-eval-case", daemon=True).start()
    return future


def _is_async(fn: Callable[..., Any]) -> bool:
    # `__call__` covers an instance whose class defines `async def __call__` (looked up on the
    # type, as calling the instance does)
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _summarise(results: Sequence[CaseResult], labels: bool) -> Summary:
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        for tag in result.tags:
            groups.setdefault(tag, []).append(result)
    passed = sum(r.passed for r in results)
    return Summary(
        count=len(results),
        passed=passed,
        errors=sum(r.error is not None and not r.timed_out for r in results),
        timeouts=sum(r.timed_out for r in results),
        mean_score=_ratio(sum(r.score for r in results), len(results)),
        pass_rate=_ratio(passed, len(results)),
        by_tag={tag: _tag_summary(group) for tag, group in sorted(groups.items())},
        labels=_label_metrics(results) if labels else None,
    )


def _tag_summary(results: Sequence[CaseResult]) -> TagSummary:
    passed = sum(r.passed for r in results)
    return TagSummary(
        count=len(results),
        passed=passed,
        pass_rate=_ratio(passed, len(results)),
        mean_score=_ratio(sum(r.score for r in results), len(results)),
    )


def _label_metrics(results: Sequence[CaseResult]) -> LabelMetrics | None:
    """Only when every expected value is a label; a passed case predicted its expected label
    (the scorer may have forgiven case or whitespace), a failed one predicted its output."""
    if not results or not all(is_label(r.expected) for r in results):
        return None
    predicted = [
        r.expected if r.passed else r.output if is_label(r.output) else None for r in results
    ]
    return label_metrics([r.expected for r in results], predicted)


# --- regression diff -----------------------------------------------------------------------


@dataclass(frozen=True)
class Flip:
    id: str
    tags: tuple[str, ...]
    before: CaseResult
    after: CaseResult


@dataclass(frozen=True)
class TagFlips:
    regressions: tuple[str, ...]
    fixes: tuple[str, ...]


@dataclass(frozen=True)
class Diff:
    regressions: tuple[Flip, ...]
    fixes: tuple[Flip, ...]
    by_tag: dict[str, TagFlips]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    deltas: dict[str, float]
    dataset_changed: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(_DIFF.dump_python(self, mode="json"))


_DIFF = TypeAdapter(Diff)


def regression_diff(previous: EvalRun | Mapping[str, Any], current: EvalRun) -> Diff:
    """Which cases flipped since the previous run, grouped by tag (a case under each of its
    tags). A case whose input or expected value was edited in between is listed as `changed`,
    not as a flip: its verdicts answer different questions."""
    before = previous if isinstance(previous, EvalRun) else EvalRun.from_dict(previous)
    old = {r.id: r for r in before.cases}
    new_ids = {r.id for r in current.cases}
    regressions: list[Flip] = []
    fixes: list[Flip] = []
    changed: list[str] = []
    for after in current.cases:
        prior = old.get(after.id)
        if prior is None:
            continue
        if (prior.input, prior.expected) != (after.input, after.expected):
            changed.append(after.id)
        elif prior.passed != after.passed:
            flips = fixes if after.passed else regressions
            flips.append(Flip(after.id, after.tags, prior, after))
    was, now = before.summary.metrics(), current.summary.metrics()
    return Diff(
        regressions=tuple(regressions),
        fixes=tuple(fixes),
        by_tag=_group(regressions, fixes),
        added=tuple(r.id for r in current.cases if r.id not in old),
        removed=tuple(r.id for r in before.cases if r.id not in new_ids),
        changed=tuple(changed),
        deltas={key: now[key] - was[key] for key in sorted(now.keys() & was.keys())},
        dataset_changed=before.dataset_sha256 != current.dataset_sha256,
    )


def _group(regressions: Sequence[Flip], fixes: Sequence[Flip]) -> dict[str, TagFlips]:
    tags = sorted({tag for flip in [*regressions, *fixes] for tag in flip.tags or (UNTAGGED,)})

    def under(tag: str, flips: Sequence[Flip]) -> tuple[str, ...]:
        return tuple(f.id for f in flips if tag in (f.tags or (UNTAGGED,)))

    return {tag: TagFlips(under(tag, regressions), under(tag, fixes)) for tag in tags}


# --- helpers -------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    """Python's JSON reader accepts NaN and Infinity; JSON (and PostgreSQL) do not."""
    raise ValueError(f"{name} is not JSON")


def _name_of(target: Callable[..., Any]) -> str:
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}:{qualname}" if module else qualname


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
