"""Evals: a golden set run through the system's callable, scored, and compared with the previous
run so a regression names the cases that flipped. Its runs are a quality signal the monitor
reads (`from: eval`), so this package sits below the monitor and knows nothing of the store.

    load_dataset(path) -> Dataset          import_target("module:function", search_path)
    get_scorer(name, options) -> Scorer    run_suite(dataset, target, scorer, now=...) -> EvalRun
    regression_diff(previous, current) -> Diff        EvalRun.to_dict() / EvalRun.from_dict()
    EvalPolicy: which modules and data an unattended (server or scheduler) run may touch

Errors: every problem this layer finds (a bad golden-set line, an import path that does not
resolve, an unknown scorer or option, a malformed stored run) is raised as one `EvalError`:

    watchkeeper.errors.ActionError (kind "invalid")
     └── EvalError (.problems: one line each, naming file:line or the import path)

Failures of the system under test are never raised: they are results.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.evals._case import Case
    from watchkeeper.evals._importing import EvalError, module_allowed
    from watchkeeper.evals._run import (
        CaseResult,
        Dataset,
        Diff,
        EvalPolicy,
        EvalRun,
        Flip,
        Progress,
        Summary,
        TagFlips,
        TagSummary,
        choose_suites,
        import_target,
        load_dataset,
        received,
        regression_diff,
        run_spec,
        run_suite,
        within,
    )
    from watchkeeper.evals.scorers import (
        BUILTIN_SCORERS,
        LabelMetrics,
        LabelScore,
        Score,
        Scorer,
        get_scorer,
        label_metrics,
    )

__all__ = [
    "BUILTIN_SCORERS",
    "Case",
    "CaseResult",
    "Dataset",
    "Diff",
    "EvalError",
    "EvalPolicy",
    "EvalRun",
    "Flip",
    "LabelMetrics",
    "LabelScore",
    "Progress",
    "Score",
    "Scorer",
    "Summary",
    "TagFlips",
    "TagSummary",
    "choose_suites",
    "get_scorer",
    "import_target",
    "label_metrics",
    "load_dataset",
    "module_allowed",
    "received",
    "regression_diff",
    "run_spec",
    "run_suite",
    "within",
]

# Loaded on first use: importing the package (as the monitor and the app do) must not pay for
# pydantic's run models until a run is read or made.
__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.evals._case": ["Case"],
        "watchkeeper.evals._importing": ["EvalError", "module_allowed"],
        "watchkeeper.evals._run": [
            "CaseResult",
            "Dataset",
            "Diff",
            "EvalPolicy",
            "EvalRun",
            "Flip",
            "Progress",
            "Summary",
            "TagFlips",
            "TagSummary",
            "choose_suites",
            "import_target",
            "load_dataset",
            "received",
            "regression_diff",
            "run_spec",
            "run_suite",
            "within",
        ],
        "watchkeeper.evals.scorers": [
            "BUILTIN_SCORERS",
            "LabelMetrics",
            "LabelScore",
            "Score",
            "Scorer",
            "get_scorer",
            "label_metrics",
        ],
    },
)
