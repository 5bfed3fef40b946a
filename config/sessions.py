"""Sessions in Redis, written through to PostgreSQL: Django's `cached_db` engine, made outage-tolerant.

A signed-in page then reads its session from Redis (one GET) instead of the database. PostgreSQL stays
the source of truth, so a Redis flush, eviction or restart signs nobody out. Django already falls back
to the database when reading the cache fails and logs a failed write; this also lets a failed refill
pass, so that pages keep working (a little slower) while Redis is down, as sign-in does.
"""

import logging

from django.contrib.sessions.backends import cached_db

logger = logging.getLogger("django.contrib.sessions")


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # any cache failure means "read the database"
            data = None
        if data is not None:
            return data
        session = self._get_session_from_db()
        if not session:
            return {}
        data = self.decode(session.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=session.expire_date))
        except Exception:
            logger.warning("Could not cache session in %s; serving it from the database", self._cache)
        return data
