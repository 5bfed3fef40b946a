"""Every error the API answers, as an RFC 9457 problem document (application/problem+json) that names
the field at fault. Nothing that a client sends can make it answer 500: what it sends is refused with a
4xx here, and whatever the request had written is rolled back (see api.http)."""

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    428: "Precondition required",
    429: "Too many requests",
}


class Problem(Exception):
    """Raised by an endpoint to answer a problem: `Problem(409, "...")`."""

    def __init__(self, status: int, detail: str, *, errors: list[dict] | None = None, headers=None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors or [], headers or {}


def problem_response(status: int, detail: str = "", *, errors=None, headers=None) -> HttpResponse:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    body["errors"] = errors or []
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(location: list) -> str:
    """pydantic's location of an error (["body", "payload", "lines", 0, "quantity"]) as the field's path
    in the request ("lines[0].quantity")."""
    parts = [part for part in location if part not in ("body", "query", "path", "header", "payload")]
    if parts and parts[0] in ("filters", "params"):
        parts = parts[1:]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _pydantic_message(error: dict) -> str:
    if error.get("type") == "extra_forbidden":
        return "Unknown field."
    if error.get("type") == "missing":
        return "This field is required."
    return str(error.get("msg", "Invalid value."))


def _validation_problem(request, exc: NinjaValidationError):
    errors = [
        {"field": _field_name(list(e.get("loc", []))), "message": _pydantic_message(e)} for e in exc.errors
    ]
    if any(e.get("type") == "json_invalid" for e in exc.errors):
        return problem_response(400, "The body is not valid JSON.", errors=errors)
    return problem_response(422, "Some fields are invalid; see errors.", errors=errors)


def service_problem(exc: DjangoValidationError, field_names: dict | None = None) -> Problem:
    """A service's ValidationError: by field (422), or a refusal of the action in this state (409)."""
    field_names = field_names or {}
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": field_names.get(field, field) if field != "__all__" else "", "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        return Problem(422, " ".join(e["message"] for e in errors), errors=errors)
    return Problem(409, " ".join(exc.messages))


def install(api) -> None:
    @api.exception_handler(Problem)
    def _problem(request, exc: Problem):
        return problem_response(exc.status, exc.detail, errors=exc.errors, headers=exc.headers)

    @api.exception_handler(NinjaValidationError)
    def _invalid(request, exc):
        return _validation_problem(request, exc)

    @api.exception_handler(DjangoValidationError)
    def _service_error(request, exc):
        problem = service_problem(exc)
        return problem_response(problem.status, problem.detail, errors=problem.errors)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return problem_response(404, str(exc) or "No such object.")

    @api.exception_handler(AuthenticationError)
    def _unauthorized(request, exc):
        return problem_response(
            401,
            "Send a valid, unrevoked API key: Authorization: Bearer inv_...",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        return problem_response(exc.status_code, exc.message)
