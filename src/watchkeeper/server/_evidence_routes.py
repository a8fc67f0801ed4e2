"""Evidence bundles over HTTP: export one (JSON; the CLI renders the HTML and the zip from it),
and tell a bundle's holder whether it came from this deployment.

The response models leave the records, the mapping and the chain entries as plain JSON: what the
digests cover passes through exactly as it was digested.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from watchkeeper.server._models import EvidenceOut, OriginOut
from watchkeeper.server._routes import ERRORS, Acting, SystemName

evidence_api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["evidence"])


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: datetime = Field(alias="from", description="The period's start (included)")
    end: datetime = Field(alias="to", description="The period's end (excluded)")

    @model_validator(mode="after")
    def _utc(self) -> EvidenceIn:
        """A date without a zone is UTC, as every time Watchkeeper stores."""
        self.start, self.end = (
            t if t.tzinfo else t.replace(tzinfo=UTC) for t in (self.start, self.end)
        )
        return self


@evidence_api.post("/systems/{name}/evidence", response_model=EvidenceOut, status_code=201)
def export(name: SystemName, body: EvidenceIn, ops: Acting) -> dict[str, Any]:
    """The evidence bundle of [from, to): every record, the obligations table (NIST AI RMF, EU
    AI Act) and the audit chain segment they are stamped with. Audited as `evidence.exported`."""
    return ops.evidence(name, body.start, body.end)


@evidence_api.get("/evidence/origin", response_model=OriginOut)
def origin(ops: Acting, seq: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> dict[str, Any]:
    """This deployment's id (the hash of its chain's first entry) and its chain's hash at
    `seq`: what `wk evidence verify --here` holds a bundle against."""
    return ops.evidence_origin(seq)
