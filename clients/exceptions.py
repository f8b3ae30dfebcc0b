"""Domain errors of the clients app; pages and the API turn them into clear messages."""


class ClientsError(Exception):
    """Base of every refusal raised by `clients.services`."""


class LastOwnerError(ClientsError):
    """An organisation must keep at least one owner, who pays and manages it."""


class OwnClientError(ClientsError):
    """The organisation's own client (G1) is created with it and cannot be changed away."""
