"""Content-Security-Policy for every response: no inline script or style, nothing from other origins."""

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
