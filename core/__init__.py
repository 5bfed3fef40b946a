"""The shared layer under every app: money, tokens, rate limits, request parameters and the task base.

It imports no app of ours."""
