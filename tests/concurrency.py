"""Running test code at the same moment on real connections, as concurrent requests would."""

import threading

from django.db import connections
from django_scopes import scopes_disabled


def at_once(count: int, work) -> list:
    """Run `work()` in `count` threads released together, each on its own database connections.
    Returns what each returned, or the exception it raised, in the order they finished."""
    barrier, results = threading.Barrier(count), []

    def run():
        try:
            with scopes_disabled():
                barrier.wait()
                results.append(work())
        except Exception as error:  # returned to the test, which says what it expects
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
