from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and webhooks"

    def ready(self) -> None:
        from api.webhooks import receivers  # imports models: only once the app registry is ready

        receivers.connect()
