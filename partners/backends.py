"""Signing in: Django's ModelBackend, except that loading the signed-in user also loads their memberships.

Every partner page needs both (PartnerMiddleware picks the current membership from them); the ORM
prefetches the memberships with their partners. They are read fresh on each request: a role change or
a removal takes effect on the person's next click.
"""

from django.contrib.auth.backends import ModelBackend

from partners.selectors import user_with_memberships


class MembershipBackend(ModelBackend):
    def get_user(self, user_id):
        user = user_with_memberships(user_id=user_id)
        return user if self.user_can_authenticate(user) else None
