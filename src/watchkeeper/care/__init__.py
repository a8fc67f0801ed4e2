"""Care: the attention a system gets after go-live. Exported here: the eval runner, which runs a
golden set through the system's callable, scores it, and compares it with the previous run so a
regression names the cases that flipped.

    load_dataset(path) -> Dataset          import_target("module:function", search_path)
    get_scorer(name, options) -> Scorer    run_suite(dataset, target, scorer, now=...) -> EvalRun
    regression_diff(previous, current) -> Diff        EvalRun.to_dict() / EvalRun.from_dict()

Errors: every problem this layer finds (a bad golden-set line, an import path that does not
resolve, an unknown scorer or option, a malformed stored run) is raised as one `EvalError`:

    watchkeeper.errors.ActionError (kind "invalid")
     └── EvalError (.problems: one line each, naming file:line or the import path)

Failures of the system under test are never raised: they are results.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.care._importing import EvalError
    from watchkeeper.care.evals import (
        Case,
        CaseResult,
        Dataset,
        Diff,
        EvalRun,
        Flip,
        Progress,
        Summary,
        TagFlips,
        TagSummary,
        import_target,
        load_dataset,
        regression_diff,
        run_suite,
    )
    from watchkeeper.care.scorers import (
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
    "get_scorer",
    "import_target",
    "label_metrics",
    "load_dataset",
    "regression_diff",
    "run_suite",
]

# Loaded on first use: `wk` reads the knowledge kinds (watchkeeper.care.knowledge) for its help
# text, and must not pay for the eval runner's pydantic and manifest models to do so.
__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.care._importing": ["EvalError"],
        "watchkeeper.care.evals": [
            "Case",
            "CaseResult",
            "Dataset",
            "Diff",
            "EvalRun",
            "Flip",
            "Progress",
            "Summary",
            "TagFlips",
            "TagSummary",
            "import_target",
            "load_dataset",
            "regression_diff",
            "run_suite",
        ],
        "watchkeeper.care.scorers": [
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
