"""The one base of every domain refusal (clients, credits, billing).

Why one base: pages show the message, the REST API answers `application/problem+json` with
`http_status`, `code` and `figures()`; each app's `exceptions.py` only says which status and
which stable code its refusals carry, and no caller keeps its own table of them. Nothing
moved when a `DomainError` is raised, except where its class says otherwise.
"""


class DomainError(Exception):
    """A refusal fit to show a person (X6), with the HTTP status and the stable code the API
    answers with. `code` is part of the API's contract: never rename one."""

    http_status: int = 400
    code: str = "invalid_request"

    def figures(self) -> dict[str, int]:
        """The numbers behind the refusal (needed, available, shortfall...), for software
        that decides what to do next without parsing the message."""
        return {}
