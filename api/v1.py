"""Version 1 of the JSON API, under /api/v1/: its OpenAPI 3.1 document is generated from the endpoints'
typed schemas (/api/v1/openapi.json) and shown as a reference page (/api/v1/docs)."""

import functools

from ninja import NinjaAPI, Swagger

from api import problems
from api.auth import ApiKeyAuth
from api.problems import PROBLEM_TYPE
from api.routes import customers, invoices, payments, recurring, webhooks
from api.schemas import Problem as ProblemSchema

# The reference page draws with inline styles; it is public and holds no partner data.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def _docs_policy(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CSP
        return response

    return wrapped


class InvoicingApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Every operation may answer a problem document (RFC 9457) with a 4xx status: said once here
        rather than on each endpoint."""
        schema = super().get_openapi_schema(*args, **kwargs)
        schema["components"].setdefault("schemas", {})["Problem"] = ProblemSchema.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        problem = {
            "description": "A problem: what is wrong, and with which field (RFC 9457).",
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for item in schema["paths"].values():
            for operation in item.values():
                operation["responses"].setdefault("4XX", problem)
        return schema


api = InvoicingApi(
    title="Invoicing API",
    version="1",
    description=(
        "Customers, invoices, recurring payments, payments and webhooks of one business. See docs/api.md."
    ),
    urls_namespace="api-v1",
    auth=ApiKeyAuth(),
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_decorator=_docs_policy,
)
problems.install(api)
api.add_router("/customers", customers.router)
api.add_router("/invoices", invoices.router)
api.add_router("/recurring_payments", recurring.router)
api.add_router("", payments.router)
api.add_router("", webhooks.router)
