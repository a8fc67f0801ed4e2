"""Quality monitoring: drift tests, mergeable profiles and trend detection."""

from watchkeeper.monitor.drift import (
    ColumnDrift,
    DriftReport,
    Override,
    column_drift,
    dataset_drift,
)
from watchkeeper.monitor.profiles import (
    CategoricalProfile,
    NumericProfile,
    merge,
    profile,
    profile_drift,
)
from watchkeeper.monitor.tables import Column, compare_files, read_columns
from watchkeeper.monitor.trend import TrendResult, detect_trend

__all__ = [
    "CategoricalProfile",
    "Column",
    "ColumnDrift",
    "DriftReport",
    "NumericProfile",
    "Override",
    "TrendResult",
    "column_drift",
    "compare_files",
    "dataset_drift",
    "detect_trend",
    "merge",
    "profile",
    "profile_drift",
    "read_columns",
]
