from payments.gateways import get_gateway


def payments(request) -> dict:
    """Whether the configured gateway is in test mode: every partner page then says so."""
    partner = getattr(request, "payments_partner", None) or getattr(request, "partner", None)
    return {"payments_test_mode": get_gateway(partner).test_mode}
