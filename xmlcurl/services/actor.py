"""Who is acting: an admin user (through the admin pages or an API token) or the command line."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import NotFound

SOURCES = ("admin", "api", "cli")


@dataclass(frozen=True)
class Actor:
    """The identity every service call is checked against and every audit entry names."""

    name: str
    role: str  # 'superadmin' or 'tenant_admin'
    source: str  # 'admin', 'api' or 'cli'
    user_id: int | None = None
    tenant_id: int | None = None

    @property
    def is_superadmin(self) -> bool:
        return self.role == "superadmin"

    @classmethod
    def for_user(cls, user, source: str) -> "Actor":
        """The actor for an AdminUser row, acting through `source` ('admin' or 'api')."""
        return cls(name=user.username, role=user.role, source=source, user_id=user.id, tenant_id=user.tenant_id)

    @classmethod
    def cli(cls, name: str = "cli") -> "Actor":
        """The operator at the command line: a superadmin (whoever runs the CLI owns the database)."""
        return cls(name=name, role="superadmin", source="cli")

    def can_see_tenant(self, tenant_id: int | None) -> bool:
        return self.is_superadmin or (tenant_id is not None and tenant_id == self.tenant_id)


def require_superadmin(actor: Actor, what: str) -> None:
    """Resources only a superadmin manages answer 'not found' to anyone else (they are not shown)."""
    if not actor.is_superadmin:
        raise NotFound(f"no such {what}")
