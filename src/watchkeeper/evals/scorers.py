"""Scorers: how one output is judged against its expected value, and how a run of labels adds up.

A scorer is a pure function `(output, expected, case) -> Score`, so a golden set gives the same
verdicts wherever and however often it runs. Built-in and custom scorers go through one registry,
`get_scorer`: a suite names `exact_match` or `mypkg.judges:polite` the same way. Options
(tolerances, a pattern) are keyword-only parameters, bound and checked when the scorer is looked
up, so a bad option fails before the first case runs rather than once per case.

Verdicts split two ways on purpose: an output that misses is a *failed* score (the system's
fault); a golden case that cannot be scored (expected is not a number, the pattern is not a
regex) raises, and the runner records it as an error (the golden set's fault).
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import numbers
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from watchkeeper.evals._importing import EvalError, SearchPath, import_object

if TYPE_CHECKING:
    from watchkeeper.evals._case import Case

Label = str | int | bool
"""What counts as a class label: a JSON scalar that is not a float."""

_PASS_AT = 0.5


@dataclass(frozen=True)
class Score:
    value: float
    passed: bool
    detail: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.value <= 1.0:  # also refuses NaN
            raise ValueError(f"a score lies within [0, 1], not {self.value!r}")


# --- built-in scorers ----------------------------------------------------------------------


def exact_match(
    output: Any,
    expected: Any,
    case: Case | None = None,
    *,
    strip: bool = True,
    ignore_case: bool = False,
) -> Score:
    """Equality as JSON sees it (`true` is not `1`); text is stripped by default because
    generated answers often end with a newline nobody means."""
    if isinstance(output, str) and isinstance(expected, str):
        got, want = (output.strip(), expected.strip()) if strip else (output, expected)
        same = got.casefold() == want.casefold() if ignore_case else got == want
    else:
        same = _json_equal(output, expected)
    return _PASSED if same else _failed(f"expected {_show(expected)}, got {_show(output)}")


def contains(
    output: Any, expected: Any, case: Case | None = None, *, ignore_case: bool = False
) -> Score:
    """Every expected phrase appears in the output; the value is the share that does, so a
    partly right answer is visible in the mean score."""
    phrases = expected if isinstance(expected, list) else [expected]
    if not phrases or not all(isinstance(p, str) for p in phrases):
        raise ValueError("contains needs expected to be a string or a list of strings")
    if not isinstance(output, str):
        return _failed(f"output is {_kind(output)}, not text")
    text = output.casefold() if ignore_case else output
    missing = [p for p in phrases if (p.casefold() if ignore_case else p) not in text]
    if not missing:
        return _PASSED
    share = 1 - len(missing) / len(phrases)
    return Score(share, False, "missing " + ", ".join(_show(p) for p in missing))


def regex(
    output: Any,
    expected: Any,
    case: Case | None = None,
    *,
    pattern: str | None = None,
    ignore_case: bool = False,
    fullmatch: bool = False,
) -> Score:
    """The output matches `pattern` if one is configured (a format every answer must have),
    else the case's expected value read as a pattern."""
    source = expected if pattern is None else pattern
    if not isinstance(source, str):
        raise ValueError("regex needs a pattern: the pattern option or a string expected value")
    compiled = _compile(source, ignore_case)
    if not isinstance(output, str):
        return _failed(f"output is {_kind(output)}, not text")
    found = compiled.fullmatch(output) if fullmatch else compiled.search(output)
    return _PASSED if found else _failed(f"{_show(output)} does not match /{source}/")


def json_valid(output: Any, expected: Any, case: Case | None = None) -> Score:
    """The output is JSON (text that parses, or a value that serialises); when the case gives
    an expected value the parsed output must also equal it, for structured extraction."""
    if output is None:
        return _failed("no output")
    if isinstance(output, str):
        try:
            value = json.loads(output, parse_constant=_refuse_constant)
        except ValueError as exc:
            return _failed(f"not JSON: {exc}")
    else:
        try:
            json.dumps(output, allow_nan=False)
        except (TypeError, ValueError):
            return _failed(f"output is {_kind(output)}, which is not JSON")
        value = output
    if expected is not None and not _json_equal(value, expected):
        return _failed(f"valid JSON, but expected {_show(expected)}, got {_show(value)}")
    return _PASSED


def numeric_close(
    output: Any,
    expected: Any,
    case: Case | None = None,
    *,
    rel_tol: float = 1e-6,
    abs_tol: float = 0.0,
) -> Score:
    """Close as `math.isclose` means it: within `rel_tol` of the larger magnitude, or within
    `abs_tol` (needed when the expected value is 0). Numeric text such as "42.0" counts."""
    want = _number(expected)
    if want is None:
        raise ValueError(f"numeric_close needs a number as expected value, not {_show(expected)}")
    got = _number(output)
    if got is None:
        return _failed(f"output {_show(output)} is not a number")
    if math.isclose(got, want, rel_tol=rel_tol, abs_tol=abs_tol):
        return _PASSED
    allowed = max(rel_tol * max(abs(got), abs(want)), abs_tol)
    return _failed(f"{got:g} is {abs(got - want):.3g} from {want:g} (allowed {allowed:.3g})")


# --- the registry --------------------------------------------------------------------------

_BUILTINS: dict[str, Callable[..., Score]] = {
    "contains": contains,
    "exact_match": exact_match,
    "json_valid": json_valid,
    "numeric_close": numeric_close,
    "regex": regex,
}
BUILTIN_SCORERS: tuple[str, ...] = tuple(_BUILTINS)

_LABEL_SCORERS = frozenset({"exact_match"})
"""Scorers whose pass means "the predicted label is the expected one", so a run can also report
precision, recall and F1 per label."""


@dataclass(frozen=True)
class Scorer:
    """A scorer ready to run: options bound, the result made a `Score` whatever it returned."""

    name: str
    fn: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)
    labels: bool = False

    def __call__(self, output: Any, expected: Any, case: Case) -> Score:
        return _as_score(self.name, self.fn(output, expected, case))


def get_scorer(
    name: str,
    options: Mapping[str, Any] | None = None,
    *,
    search_path: SearchPath = (),
    allowed: Sequence[str] | None = None,
) -> Scorer:
    """A built-in by name, or a custom scorer by import path (`module:function`) returning a
    `Score`, a bool, or a float in [0, 1] (passing from 0.5). Custom scorers are looked up in
    `search_path` first, and held to `allowed` module prefixes, like eval targets."""
    options = dict(options or {})
    if ":" in name:
        fn = import_object(name, search_path, what="scorer", allowed=allowed)
    elif name in _BUILTINS:
        fn = _BUILTINS[name]
        _check_builtin_options(name, options)
    else:
        raise EvalError(
            [
                f"unknown scorer {name!r}: the built-ins are {', '.join(BUILTIN_SCORERS)}; "
                "a custom scorer is given as module:function"
            ]
        )
    _check_signature(name, fn, options)
    bound = functools.partial(fn, **options) if options else fn
    return Scorer(name, bound, options, labels=name in _LABEL_SCORERS)


def _check_signature(name: str, fn: Callable[..., Any], options: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some C callables have none to inspect; trust them
        return
    try:
        signature.bind(None, None, None, **options)
    except TypeError:
        takes = [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]
        given = ", ".join(sorted(options)) or "no options"
        accepted = f"its options are {', '.join(takes)}" if takes else "it takes no options"
        raise EvalError(
            [
                f"scorer {name!r} cannot be called as (output, expected, case) with {given}; "
                f"{accepted}"
            ]
        ) from None


def _check_builtin_options(name: str, options: dict[str, Any]) -> None:
    problems = []
    for option, value in options.items():
        check = _OPTION_CHECKS.get(option)
        problem = check(value) if check else None
        if problem:
            problems.append(f"scorer {name!r}: option {option!r} {problem}")
    if problems:
        raise EvalError(problems)


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, not {_show(value)}"


def _tolerance(value: Any) -> str | None:
    number = _number(value) if not isinstance(value, str) else None
    if number is None or number < 0 or math.isinf(number):
        return f"must be a number of at least 0, not {_show(value)}"
    return None


def _pattern(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a regular expression, not {_show(value)}"
    try:
        _compile(value, ignore_case=False)
    except ValueError as exc:
        return f"is not valid: {exc}"
    return None


_OPTION_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "abs_tol": _tolerance,
    "fullmatch": _boolean,
    "ignore_case": _boolean,
    "pattern": _pattern,
    "rel_tol": _tolerance,
    "strip": _boolean,
}


def _as_score(name: str, result: Any) -> Score:
    if isinstance(result, Score):
        return result
    if isinstance(result, bool):
        return Score(1.0 if result else 0.0, result)
    if isinstance(result, numbers.Real):
        value = float(result)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"scorer {name!r} returned {value!r}, outside [0, 1]")
        return Score(value, value >= _PASS_AT)
    raise TypeError(f"scorer {name!r} returned {_kind(result)}; expected a Score, bool or float")


# --- label metrics over a whole run --------------------------------------------------------


@dataclass(frozen=True)
class LabelScore:
    label: Label
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class LabelMetrics:
    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    per_label: tuple[LabelScore, ...]


def is_label(value: Any) -> bool:
    return isinstance(value, str | int)


def label_metrics(expected: Sequence[Label], predicted: Sequence[Label | None]) -> LabelMetrics:
    """Accuracy and per-label precision / recall / F1, macro-averaged over every label that was
    expected or predicted (a label the system invents counts against it). `None` means no
    prediction (an error or a non-label output): a miss for the expected label, a false alarm for
    none. An undefined ratio (0/0) counts as 0."""
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected labels but {len(predicted)} predictions")
    pairs = [
        (_key(e), None if p is None else _key(p)) for e, p in zip(expected, predicted, strict=True)
    ]
    hits = Counter(e for e, p in pairs if e == p)
    support = Counter(e for e, _ in pairs)
    claimed = Counter(p for _, p in pairs if p is not None)
    scores = []
    for key in sorted(support.keys() | claimed.keys(), key=lambda k: (str(k[1]), k[0])):
        precision = _ratio(hits[key], claimed[key])
        recall = _ratio(hits[key], support[key])
        f1 = _ratio(2 * precision * recall, precision + recall)
        scores.append(LabelScore(key[1], precision, recall, f1, support[key]))
    return LabelMetrics(
        accuracy=_ratio(sum(hits.values()), len(pairs)),
        macro_precision=_mean([s.precision for s in scores]),
        macro_recall=_mean([s.recall for s in scores]),
        macro_f1=_mean([s.f1 for s in scores]),
        per_label=tuple(scores),
    )


def _key(label: Label) -> tuple[str, Label]:
    """`True == 1` in Python; as labels they differ."""
    return (type(label).__name__ if isinstance(label, bool) else "", label)


# --- helpers -------------------------------------------------------------------------------

_PASSED = Score(1.0, True)


def _failed(detail: str) -> Score:
    return Score(0.0, False, detail)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _mean(values: Sequence[float]) -> float:
    return _ratio(sum(values), len(values))


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return None if math.isnan(number) else number


def _compile(source: str, ignore_case: bool) -> re.Pattern[str]:
    try:
        return re.compile(source, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise ValueError(f"invalid regex {source!r}: {exc}") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
