"""Getting what the system saw and said into the store: observation and feedback batches,
dead letters for what could not be read, OTLP traces of LLM calls (`ingest.otlp`), and the
retention that purges what a system no longer keeps.

Its names load on first use: the batch rules (`validate_batch`, `FUTURE_SKEW`) need neither the
store nor the monitor that the service and retention bring.
"""

import typing

from watchkeeper._lazy import exports as _exports

if typing.TYPE_CHECKING:
    from watchkeeper.ingest.items import FUTURE_SKEW, Rejected, validate_batch
    from watchkeeper.ingest.service import BatchResult, IngestService, combine_purges

__all__ = [
    "FUTURE_SKEW",
    "BatchResult",
    "IngestService",
    "Rejected",
    "combine_purges",
    "validate_batch",
]

__getattr__, __dir__ = _exports(
    __name__,
    {
        "watchkeeper.ingest.items": ["FUTURE_SKEW", "Rejected", "validate_batch"],
        "watchkeeper.ingest.service": ["BatchResult", "IngestService", "combine_purges"],
    },
)
