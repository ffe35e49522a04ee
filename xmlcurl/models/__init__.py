"""Typed SQLAlchemy models mirroring schema.sql."""
from .admin import ADMIN_ROLES, AdminUser, ApiToken, AuditEntry, LoginFailure
from .base import Base
from .caller_id import PRESENTABLE_SOURCES, ApprovedCallerId, PresentableNumber
from .cluster import (ClusterGatewayState, ClusterMonitorLease, ClusterNodeState, ClusterProfileState,
                      ClusterRegistration, ClusterTenantCalls)
from .did import Did
from .gateway import MEDIA_MODES, TRANSPORTS, Gateway
from .node import ROLES, Node
from .proxy import ProxyTableVersion
from .route import Route
from .sip_user import KINDS, SipUser, SipUserVariable
from .tenant import Tenant, TenantNode
from .version import VERSIONED_TABLES, ConfigVersion

__all__ = [
    "ADMIN_ROLES", "AdminUser", "ApiToken", "ApprovedCallerId", "AuditEntry", "Base", "ClusterGatewayState",
    "ClusterMonitorLease", "ClusterNodeState", "ClusterProfileState", "ClusterRegistration", "ClusterTenantCalls",
    "ConfigVersion", "Did", "Gateway", "KINDS", "LoginFailure", "MEDIA_MODES", "Node", "PRESENTABLE_SOURCES", "PresentableNumber", "ProxyTableVersion", "ROLES",
    "Route", "SipUser", "SipUserVariable", "TRANSPORTS",
    "Tenant", "TenantNode", "VERSIONED_TABLES",
]
