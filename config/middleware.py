"""Content-Security-Policy for every response (no inline script or style, nothing from other origins), and
NUL characters refused before they reach a view."""

from django.shortcuts import render

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
# Django's admin still sets a few style attributes; it is a staff-only tool behind sign-in.
ADMIN_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


def with_sources(policy: str, sources: dict[str, list[str]]) -> str:
    """The policy with more origins allowed for some directives (payments.card_entry sets them)."""
    directives = []
    for directive in policy.split("; "):
        name = directive.split(" ", 1)[0]
        directives.append(" ".join([directive, *sources.get(name, [])]))
    return "; ".join(directives)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = ADMIN_CSP if request.path.startswith("/admin/") else CSP
        if sources := getattr(response, "csp_sources", None):  # a page taking a card: its processor
            policy = with_sources(policy, sources)
        # A view that serves foreign HTML (the dev outbox) sets its own, stricter policy.
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(self)"
        )
        return response


NUL_REFUSED = "The address or the form held a NUL character (%00), which no field here can contain."


def _holds_nul(values) -> bool:
    return any("\x00" in text for text in values)


class RefuseNulMiddleware:
    """A NUL character in the path, the query string, a cookie or a form field is a 400, on every page.

    PostgreSQL text cannot hold NUL, so one that reaches a query is a database error (a 500); nobody types
    one, so it is refused here, once, instead of in each view. Form bodies are read in `process_view`, and
    only for views that check CSRF (which reads the body anyway): webhooks parse their own bodies.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = [text for key, values in request.GET.lists() for text in (key, *values)]
        if _holds_nul([request.path_info, *query, *request.COOKIES.keys(), *request.COOKIES.values()]):
            return self.refuse(request)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or getattr(view_func, "csrf_exempt", False):
            return None
        if _holds_nul(text for key, values in request.POST.lists() for text in (key, *values)):
            return self.refuse(request)
        return None

    @staticmethod
    def refuse(request):
        return render(request, "400.html", {"reason": NUL_REFUSED}, status=400)
