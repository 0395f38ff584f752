from .audit import AuditEvent, AuditStreamHead, Checkpoint
from .authority import Authority, AuthorityContact, AuthorityInstrument
from .disclosure import DisclosureOrder, DisclosureState, OrderIdentifier, ScopeItem, VerificationCheck
from .package import Package, PackageStage, PackageState
from .preservation import PreservationOrder, PreservationState

__all__ = [
    "AuditEvent",
    "AuditStreamHead",
    "Authority",
    "AuthorityContact",
    "AuthorityInstrument",
    "Checkpoint",
    "DisclosureOrder",
    "DisclosureState",
    "OrderIdentifier",
    "Package",
    "PackageStage",
    "PackageState",
    "PreservationOrder",
    "PreservationState",
    "ScopeItem",
    "VerificationCheck",
]
