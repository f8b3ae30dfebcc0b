"""Who may do what with a key: any key reads, a read-and-write key writes."""

from rest_framework import permissions

from api.exceptions import ReadOnlyKey
from api.models import ApiKey


class HasApiKey(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False  # DRF answers 401 with the scheme to use
        if request.method not in permissions.SAFE_METHODS and not key.can_write:
            raise ReadOnlyKey()
        return True
