"""Helpers the endpoints share: optimistic concurrency (ETag / If-Match) and the actor of a request."""

from api.problems import Problem


def etag(value) -> str:
    return f'"{value}"'


def check_if_match(request, current: str) -> None:
    """An update sent with If-Match applies only to the version the client read (412 otherwise)."""
    expected = request.headers.get("If-Match")
    if expected is None or expected.strip() == "*":
        return
    if current not in [tag.strip().removeprefix("W/") for tag in expected.split(",")]:
        raise Problem(412, "The object changed since you read it. Read it again and reapply your change.")
