from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import STAFF_ROLES, Role


class User(AbstractUser):
    """A portal user. The role is the user's group; a user holds exactly one role."""

    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=[("fa", "فارسی"), ("en", "English")], default="fa"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def role(self) -> str | None:
        # The groups prefetched with the user (the sign-in gate's cached user has them) are read
        # as they are, without a related manager per call; a change to the groups drops them.
        groups = getattr(self, "_prefetched_objects_cache", {}).get("groups")
        names = [g.name for g in (groups if groups is not None else self.groups.all())]
        return names[0] if names else None

    def has_role(self, role: Role | str) -> bool:
        return self.role == role

    @property
    def is_portal_staff(self) -> bool:
        return self.role in STAFF_ROLES
