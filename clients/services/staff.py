"""What back-office staff do to people and their places in organisations.

Two rules shape it:
- **The ledger keeps its actors.** Consumptions, entries, assignments, holds, purchases… name
  the person who made them, and ledger rows are immutable (a trigger refuses the UPDATE that
  Django's SET NULL would run), so a person who appears there is *deactivated* (no login, no
  membership) rather than deleted; one who never acted on the ledger is deleted as before.
- **An organisation keeps an owner.** Removing a person or a membership that would leave an
  organisation without owner is refused, before anything is written.

The `check_*` functions are the services' rules asked without writing (the admin's forms call
them in `clean()`, so a refusal is a form error); the writing services ask them again under
their locks, where a concurrent change may still make them refuse.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from clients.exceptions import LastOwnerError
from clients.models import Client, ClientKind, Membership, Organisation, Role
from clients.services import clients as client_services
from clients.services import members as member_services

# The apps whose rows are the ledger and its money: a person they name is kept.
LEDGER_APPS = ("credits", "billing")


def _last_owner(organisations: Iterable[Organisation]) -> LastOwnerError:
    names = ", ".join(sorted(str(organisation) for organisation in organisations))
    return LastOwnerError(
        _("An organisation must keep at least one owner: %(organisations)s would have none.")
        % {"organisations": names}
    )


def _orphaned(memberships: Sequence[Membership], *, lock: bool) -> list[Organisation]:
    """The organisations that would be left without owner if these owner memberships went."""
    leaving = [m for m in memberships if m.role == Role.OWNER]
    if not leaving:
        return []
    owners = Membership.objects.filter(
        organisation_id__in={m.organisation_id for m in leaving}, role=Role.OWNER
    )
    if lock:
        owners = owners.select_for_update()
    left: dict[int, int] = {}
    gone = {m.pk for m in leaving}
    for owner in owners:
        if owner.pk not in gone:
            left[owner.organisation_id] = left.get(owner.organisation_id, 0) + 1
    orphaned = {m.organisation_id for m in leaving if not left.get(m.organisation_id)}
    return list(Organisation.objects.filter(pk__in=orphaned).order_by("name"))


def check_membership_change(*, membership: Membership, role: str) -> None:
    """Refuse demoting the last owner (LastOwnerError), as `change_member` does."""
    if membership.role == Role.OWNER and role != Role.OWNER:
        orphaned = _orphaned([membership], lock=False)
        if orphaned:
            raise _last_owner(orphaned)


def check_membership_removal(*, memberships: Sequence[Membership]) -> None:
    """Refuse removing memberships that would leave an organisation without owner."""
    orphaned = _orphaned(memberships, lock=False)
    if orphaned:
        raise _last_owner(orphaned)


@transaction.atomic
def remove_memberships(*, memberships: Sequence[Membership]) -> int:
    """Staff's bulk removal: all or none. Checked as a whole under the owners' locks first
    (removing two owners of one organisation one by one would pass the first check each),
    then each goes through `remove_member`."""
    memberships = list(memberships)
    orphaned = _orphaned(memberships, lock=True)
    if orphaned:
        raise _last_owner(orphaned)
    for membership in memberships:
        member_services.remove_member(membership=membership)
    return len(memberships)


def check_client_change(*, client: Client, is_active: bool, kind: str) -> None:
    """Refuse what `update_client` refuses for the own client (G1), before the form saves."""
    client_services.check_own_client_rules(
        was_own=client.kind == ClientKind.OWN, is_active=is_active, kind=kind
    )


def _ledger_relations() -> list:
    """Every relation from a ledger app's model to the user model (found, not listed, so
    that a new ledger row naming a person is covered)."""
    user_model = get_user_model()
    return [
        relation
        for relation in user_model._meta.related_objects
        if relation.related_model._meta.app_label in LEDGER_APPS and relation.field.many_to_one
    ]


def in_ledger(users: Iterable[AbstractBaseUser]) -> set[int]:
    """The ids of those among `users` whom a ledger row names."""
    ids = {user.pk for user in users}
    named: set[int] = set()
    for relation in _ledger_relations():
        named |= set(
            relation.related_model._base_manager.filter(
                **{f"{relation.field.attname}__in": ids - named}
            )
            .values_list(relation.field.attname, flat=True)
            .distinct()
        )
        if named == ids:
            break
    return named


@dataclass(frozen=True)
class Removal:
    """What removing people did: who was deleted, who was deactivated (named in the
    ledger), by username."""

    deleted: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)


def check_user_removal(*, users: Sequence[AbstractBaseUser]) -> None:
    """Refuse removing the last owner of an organisation (LastOwnerError)."""
    memberships = list(Membership.objects.filter(user__in=users, role=Role.OWNER))
    check_membership_removal(memberships=memberships)


@transaction.atomic
def remove_users(*, users: Sequence[AbstractBaseUser]) -> Removal:
    """Delete people, or deactivate those the ledger names (their rows keep pointing at
    them): `is_active` off (no login, sessions refused) and their memberships ended, as an
    owner ends a membership. Refused as a whole when it would leave an organisation without
    owner; nothing is written then."""
    user_model = get_user_model()
    people = list(user_model.objects.select_for_update().filter(pk__in=[u.pk for u in users]))
    memberships = list(Membership.objects.filter(user__in=people).select_related("organisation"))
    orphaned = _orphaned(memberships, lock=True)
    if orphaned:
        raise _last_owner(orphaned)
    named = in_ledger(people)
    removal = Removal()
    for person in sorted(people, key=lambda p: p.get_username()):
        if person.pk in named:
            person.is_active = False
            person.save(update_fields=["is_active"])
            for membership in memberships:
                if membership.user_id == person.pk:
                    member_services.remove_member(membership=membership)
            removal.deactivated.append(person.get_username())
        else:
            person.delete()
            removal.deleted.append(person.get_username())
    return removal


__all__ = [
    "Removal",
    "check_client_change",
    "check_membership_change",
    "check_membership_removal",
    "check_user_removal",
    "in_ledger",
    "remove_memberships",
    "remove_users",
]
