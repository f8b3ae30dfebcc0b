"""Domain errors of the clients app; pages and the API turn them into clear messages."""


class ClientsError(Exception):
    """Base of every refusal raised by `clients.services`."""


class LastOwnerError(ClientsError):
    """An organisation must keep at least one owner, who pays and manages it."""


class OwnClientError(ClientsError):
    """The organisation's own client (G1) is created with it and cannot be changed away."""


class AlreadyMemberError(ClientsError):
    """The person already belongs to the organisation."""


class InvitationPendingError(ClientsError):
    """An open invitation for the same e-mail exists: send it again or cancel it."""


class InvitationClosedError(ClientsError):
    """The invitation was accepted, cancelled or has expired; `reason` says which."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WrongPersonError(ClientsError):
    """An invitation to an e-mail that has an account is accepted by that account only."""


class UsernameTakenError(ClientsError):
    """Someone took the chosen username between the form's check and the account's creation."""
