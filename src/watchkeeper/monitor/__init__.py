"""Quality monitoring: signals per window, drift tests, mergeable profiles, embeddings, contract
breaks, trend detection and interval statistics, turned into findings by the engine.

Its names load on first use: numpy, scipy and pyarrow come with the drift, profile, table and
trend code, and a caller of the statistics (the period report) or of the findings pays for
none of them.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.monitor.checks import Failure
    from watchkeeper.monitor.contract import Break, check_contract, renames
    from watchkeeper.monitor.drift import (
        ColumnDrift,
        DriftReport,
        Override,
        column_drift,
        dataset_drift,
    )
    from watchkeeper.monitor.embedder import INSTALL_HINT, load_embedder
    from watchkeeper.monitor.embedding import (
        Embedder,
        embedding_drift,
        embedding_profile,
        text_drift,
    )
    from watchkeeper.monitor.engine import Evaluation, MonitorService, baseline_period
    from watchkeeper.monitor.findings import Finding
    from watchkeeper.monitor.profiles import (
        CategoricalProfile,
        NumericProfile,
        merge,
        profile,
        profile_drift,
    )
    from watchkeeper.monitor.stats import ErrorRate, reviewed_error_rate, wilson
    from watchkeeper.monitor.tables import Column, compare_files, read_columns
    from watchkeeper.monitor.trend import TrendResult, detect_trend

__all__ = [
    "INSTALL_HINT",
    "Break",
    "CategoricalProfile",
    "Column",
    "ColumnDrift",
    "DriftReport",
    "Embedder",
    "ErrorRate",
    "Evaluation",
    "Failure",
    "Finding",
    "MonitorService",
    "NumericProfile",
    "Override",
    "TrendResult",
    "baseline_period",
    "check_contract",
    "column_drift",
    "compare_files",
    "dataset_drift",
    "detect_trend",
    "embedding_drift",
    "embedding_profile",
    "load_embedder",
    "merge",
    "profile",
    "profile_drift",
    "read_columns",
    "renames",
    "reviewed_error_rate",
    "text_drift",
    "wilson",
]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.monitor.checks": ["Failure"],
        "watchkeeper.monitor.contract": ["Break", "check_contract", "renames"],
        "watchkeeper.monitor.drift": [
            "ColumnDrift",
            "DriftReport",
            "Override",
            "column_drift",
            "dataset_drift",
        ],
        "watchkeeper.monitor.embedder": ["INSTALL_HINT", "load_embedder"],
        "watchkeeper.monitor.embedding": [
            "Embedder",
            "embedding_drift",
            "embedding_profile",
            "text_drift",
        ],
        "watchkeeper.monitor.engine": ["Evaluation", "MonitorService", "baseline_period"],
        "watchkeeper.monitor.findings": ["Finding"],
        "watchkeeper.monitor.profiles": [
            "CategoricalProfile",
            "NumericProfile",
            "merge",
            "profile",
            "profile_drift",
        ],
        "watchkeeper.monitor.stats": ["ErrorRate", "reviewed_error_rate", "wilson"],
        "watchkeeper.monitor.tables": ["Column", "compare_files", "read_columns"],
        "watchkeeper.monitor.trend": ["TrendResult", "detect_trend"],
    },
)
