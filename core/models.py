from django.db import models


class PendingTask(models.Model):
    """A task that could not be published to the broker (Redis stalled or down), kept in PostgreSQL until
    beat publishes it again (core.outbox). Its arguments are primary keys and plain values, as every
    task's are; the task is safe to run twice, so publishing it again after an unclear failure is too."""

    name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name}({self.kwargs})"
