from ninja.security import HttpBearer


class ApiKeyAuth(HttpBearer):
    """Declares the bearer key in the OpenAPI schema. The key itself was checked by api.http, which
    runs first for every API URL and leaves the live key (or None) on the request."""

    openapi_description = "An API key from Settings → Developers: `Authorization: Bearer inv_live_...`."

    def __call__(self, request):
        return getattr(request, "api_key", None)

    def authenticate(self, request, token):  # pragma: no cover: __call__ answers
        return getattr(request, "api_key", None)
