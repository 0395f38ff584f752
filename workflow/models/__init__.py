from .audit import AuditEvent, AuditStreamHead, Checkpoint
from .authority import Authority, AuthorityContact, AuthorityInstrument
from .customers import (
    OPEN_REQUEST_STATES,
    CustomerNotice,
    DataSubjectRequest,
    RefusalReason,
    RequestKind,
    RequestState,
    SignInCode,
)
from .disclosure import DisclosureOrder, DisclosureState, OrderIdentifier, ScopeItem, VerificationCheck
from .package import Package, PackageStage, PackageState
from .preservation import PreservationOrder, PreservationState

__all__ = [
    "OPEN_REQUEST_STATES",
    "AuditEvent",
    "AuditStreamHead",
    "Authority",
    "AuthorityContact",
    "AuthorityInstrument",
    "Checkpoint",
    "CustomerNotice",
    "DataSubjectRequest",
    "DisclosureOrder",
    "DisclosureState",
    "OrderIdentifier",
    "Package",
    "PackageStage",
    "PackageState",
    "PreservationOrder",
    "PreservationState",
    "RefusalReason",
    "RequestKind",
    "RequestState",
    "ScopeItem",
    "SignInCode",
    "VerificationCheck",
]
