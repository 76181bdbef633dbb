"""System checks of the ledger: the database role that serves the app must not be able to switch its guards off.

The ledger's triggers (append-only rows, balanced transactions, references, no TRUNCATE) hold only
against a role that cannot disable them: a superuser, or the owner of a table (or a member of the
owning role), can `ALTER TABLE ... DISABLE TRIGGER`. Run migrations as the owner and serve the app as
a role with only SELECT, INSERT, UPDATE and DELETE. A deployment check that reads the database:
`manage.py check --deploy --database default`, run as the serving role (migrations, which run as the
owner, do not run deployment checks); nothing to check on SQLite.
"""

from django.core.checks import Error, Tags, register
from django.db import connections

LEDGER_TABLES = ("ledger_organization", "ledger_account", "ledger_systemaccount", "ledger_creditlot",
                 "ledger_transaction", "ledger_posting", "ledger_hold", "ledger_creditlimitchange")

ROLE_SQL = """
SELECT r.rolsuper,
       ARRAY(SELECT t.tablename::text FROM pg_tables t
             WHERE t.schemaname = current_schema() AND t.tablename = ANY(%s)
               AND pg_has_role(current_user, t.tableowner, 'USAGE')
             ORDER BY t.tablename)
FROM pg_roles r WHERE r.rolname = current_user
"""


def ledger_role_problems(connection) -> list[str]:
    """Why the connection's role could switch the ledger's triggers off (empty when it cannot)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(ROLE_SQL, [list(LEDGER_TABLES)])
        superuser, owned = cursor.fetchone()
    problems = []
    if superuser:
        problems.append("it is a superuser")
    if owned:
        problems.append(f"it owns (or is a member of the role owning) {', '.join(owned)}")
    return problems


@register(Tags.database, deploy=True)
def check_ledger_role(app_configs, databases=None, **kwargs) -> list[Error]:
    """ledger.E001: the app's database role could disable the ledger's triggers."""
    errors = []
    for alias in databases or []:
        problems = ledger_role_problems(connections[alias])
        if problems:
            errors.append(Error(
                f"The database role of {alias!r} could switch the ledger's guards off: {'; '.join(problems)}.",
                hint="Run migrations as the tables' owner and serve the app as a role with only SELECT, INSERT, "
                     "UPDATE and DELETE on them (see README, Production).",
                id="ledger.E001"))
    return errors
