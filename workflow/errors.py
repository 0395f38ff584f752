"""Domain errors: every refused action raises one, with a message a user understands.

Views turn them into form errors or HTTP answers (``http_status``); commands print them.
"""

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "refused"
    http_status = 409

    def __init__(self, message: str | Promise, *, details: Sequence[str] = ()) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.details = [str(d) for d in details]

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return self.message + " " + " ".join(self.details)


class NotPermitted(DomainError):
    code = "not_permitted"
    http_status = 403


class FourEyesViolation(NotPermitted):
    code = "four_eyes"


class WrongState(DomainError):
    code = "wrong_state"


class StaleVersion(DomainError):
    code = "stale"

    def __init__(self) -> None:
        super().__init__(
            _("Someone else changed this order while you were looking at it. Reload the page and try again.")
        )


class ConditionsUnmet(DomainError):
    code = "conditions_unmet"
    http_status = 422


class InvalidInput(DomainError):
    """Bad input; ``field_errors`` maps a form field to its messages."""

    code = "invalid"
    http_status = 400

    def __init__(
        self, message: str | Promise, *, field_errors: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}
        details = [f"{field}: {'; '.join(msgs)}" for field, msgs in self.field_errors.items()]
        super().__init__(message, details=details)
