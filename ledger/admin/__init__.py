"""The staff console: Django admin registrations of the ledger (organizations, accounts, ledger rows).

Users need `is_staff` to log into the admin at all; what they see and may do then comes from
their role group (see ledger/migrations/0005_roles.py) and the scoping in ledger.selectors;
list filters, choice lists and autocompletes follow the same scoping (scoping.py).
"""

from . import accounts, organization, users  # noqa: F401 - registers the admins
