"""The staff console: Django admin registrations of the ledger (organizations, accounts, ledger rows).

Users need `is_staff` to log into the admin at all; what they see and may do then comes from
their role group (see ledger/migrations/0005_roles.py) and the scoping in ledger.selectors.
"""

from . import accounts, organization  # noqa: F401 - registers the admins
