"""Run by test_public_names.py in a process of its own, where migrations are not disabled (pytest runs
with --no-migrations): in a scratch database it goes back to before partners 0008, creates partners as
they were then, migrates forward and prints their slugs as JSON."""

import json

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

BEFORE = [("partners", "0007_audit_payment_methods")]
AFTER = [("partners", "0008_partner_slug")]


def apps_at(partners_target):
    """The models with partners migrated to `partners_target` and every other app at its latest that
    does not need a later partners migration (an app added since, such as the API's keys, waits)."""
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    later = {node for node in graph.leaf_nodes() if node[0] == "partners"} | set(AFTER)
    others = [
        node
        for node in graph.leaf_nodes()
        if node[0] != "partners" and not later & set(graph.forwards_plan(node)) - set(partners_target)
    ]
    executor.migrate(partners_target)
    return executor.loader.project_state([*partners_target, *others]).apps


def main() -> None:
    name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        before = apps_at(BEFORE)
        ids = []
        for n in range(5):  # each with a customer: other tables' foreign keys point at the rows filled
            partner = before.get_model("partners", "Partner").objects.create(name=f"Existing {n}")
            before.get_model("customers", "Customer").objects.create(
                partner=partner, name="A", email="a@a.example"
            )
            ids.append(partner.pk)
        slugs = (
            apps_at(AFTER)
            .get_model("partners", "Partner")
            .objects.filter(pk__in=ids)
            .values_list("slug", flat=True)
        )
        print(json.dumps(list(slugs)))
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
