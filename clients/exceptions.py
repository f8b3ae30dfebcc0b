"""Domain errors of the clients app; pages and the API turn them into clear messages."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from config.errors import DomainError


class ClientsError(DomainError):
    """Base of every refusal raised by `clients.services`."""

    code = "clients_refused"


class LastOwnerError(ClientsError):
    """An organisation must keep at least one owner, who pays and manages it."""

    http_status = 409
    code = "last_owner"


class OwnClientError(ClientsError):
    """The organisation's own client (G1) is created with it and cannot be changed away."""

    http_status = 409
    code = "own_client"


class AlreadyMemberError(ClientsError):
    """The person already belongs to the organisation."""

    http_status = 409
    code = "already_member"


class InvitationPendingError(ClientsError):
    """An open invitation for the same e-mail exists: send it again or cancel it."""

    http_status = 409
    code = "invitation_pending"


class InvitationClosedError(ClientsError):
    """The invitation was accepted, cancelled or has expired; `reason` says which."""

    http_status = 410
    code = "invitation_closed"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WrongPersonError(ClientsError):
    """An invitation to an e-mail that has an account is accepted by that account only."""

    http_status = 403
    code = "wrong_person"


class UsernameTakenError(ClientsError):
    """Someone took the chosen username between the form's check and the account's creation."""

    http_status = 409
    code = "username_taken"


class InvalidClientInput(ClientsError, ValidationError):
    """A value a client or an organisation cannot hold (too long, not a time zone...): a
    domain refusal for the API and the admin, and a ValidationError on the field for the
    pages' forms, raised before anything is written (X6)."""

    code = "validation_error"

    def __init__(self, errors: dict[str, list[str]] | ValidationError) -> None:
        ValidationError.__init__(self, errors)

    def __str__(self) -> str:
        return " ".join(self.messages)


class ClientNameTaken(InvalidClientInput):
    """Another client of the organisation has this name, also when both were created at the
    same moment (the unique constraint decided): nothing was created or renamed."""

    http_status = 409
    code = "client_name_taken"

    def __init__(self, name: str) -> None:
        super().__init__(
            {
                "name": [
                    _("The name “%(name)s” is already used in this organisation.") % {"name": name}
                ]
            }
        )
