from payments.gateways import get_gateway


def payments(request) -> dict:
    """Whether the configured gateway is in test mode: every partner page then says so."""
    return {"payments_test_mode": get_gateway(getattr(request, "partner", None)).test_mode}
