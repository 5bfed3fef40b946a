from django.apps import AppConfig


class SandboxGatewayConfig(AppConfig):
    name = "payments.gateways.sandbox"
    label = "sandbox_gateway"
    verbose_name = "Sandbox gateway (the test processor's own books)"
