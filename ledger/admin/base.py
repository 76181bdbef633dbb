"""Admin building blocks shared by the console's model admins."""

import uuid

from .scoping import ScopedChoicesAdmin


def is_uuid(value) -> bool:
    """Whether an id from a URL is a UUID (anything else is a 404, never a database error)."""
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class ServiceSavingAdmin(ScopedChoicesAdmin):
    """A model admin whose save_model calls ledger services.

    The services open their own durable atomic block, which cannot nest inside the one Django's
    admin wraps around a POST to the change form; each service call is atomic on its own.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)
