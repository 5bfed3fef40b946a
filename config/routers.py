"""Database routing: the sandbox gateway's books go through a connection of their own.

`DATABASES["sandbox"]` points at the same database as `default` but is a separate connection, so the
sandbox commits its charges whatever happens to the app's transaction, as a real processor would.
Migrations run once, through `default`.
"""

SANDBOX_APP = "sandbox_gateway"


class SandboxGatewayRouter:
    def db_for_read(self, model, **hints):
        return "sandbox" if model._meta.app_label == SANDBOX_APP else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"
