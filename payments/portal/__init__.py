"""The customer's side: pay links and the hosted invoice page at /pay/<token>/."""
