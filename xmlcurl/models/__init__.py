"""Typed SQLAlchemy models mirroring schema.sql."""
from .admin import ADMIN_ROLES, AdminUser, ApiToken, AuditEntry, LoginFailure
from .base import Base
from .caller_id import ApprovedCallerId
from .did import Did
from .gateway import MEDIA_MODES, TRANSPORTS, Gateway
from .node import ROLES, Node
from .proxy import ProxyTableVersion
from .route import Route
from .sip_user import KINDS, SipUser, SipUserVariable
from .tenant import Tenant, TenantNode
from .version import CHANGE_SLOTS, CHANGE_TENANT, EVERY_TENANT, VERSIONED_TABLES, ConfigChange, ConfigVersion, change_tenant_expression

__all__ = [
    "ADMIN_ROLES", "AdminUser", "ApiToken", "ApprovedCallerId", "AuditEntry", "Base", "CHANGE_SLOTS", "CHANGE_TENANT", "ConfigChange",
    "ConfigVersion", "EVERY_TENANT", "change_tenant_expression", "Did", "Gateway",
    "KINDS", "LoginFailure", "MEDIA_MODES", "Node", "ProxyTableVersion", "ROLES", "Route", "SipUser", "SipUserVariable",
    "TRANSPORTS",
    "Tenant", "TenantNode", "VERSIONED_TABLES",
]
