from .audit import AuditEvent, AuditStreamHead, Checkpoint
from .authority import Authority, AuthorityContact, AuthorityInstrument
from .disclosure import DisclosureOrder, DisclosureState, OrderIdentifier, ScopeItem, VerificationCheck
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
    "PreservationOrder",
    "PreservationState",
    "ScopeItem",
    "VerificationCheck",
]
