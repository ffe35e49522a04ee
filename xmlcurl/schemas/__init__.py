"""marshmallow schemas, one per resource, shared by the JSON API and the admin forms.

Each schema validates input (`schema.load(data)`, or `partial=True` for an update) and shapes
output (`schema.dump(row)`): ids and timestamps are dump-only, secrets (passwords, node
secrets) load-only. The services call `load` themselves, so callers pass raw input to them.
"""
from .admin_user import AdminUserSchema, PasswordChangeSchema
from .api_token import ApiTokenSchema, NewApiTokenSchema
from .audit import AuditEntrySchema
from .caller_id import ApprovedCallerIdSchema
from .did import DidRangeSchema, DidSchema
from .gateway import GatewaySchema
from .bulk import BulkSchema, TenantPurgeSchema
from .node import NodeSchema
from .pinning import PinningSchema
from .route import RouteSchema
from .sip_user import SipUserSchema, VariableSchema
from .tenant import TenantSchema

__all__ = [
    "AdminUserSchema", "ApiTokenSchema", "ApprovedCallerIdSchema", "AuditEntrySchema", "DidRangeSchema", "DidSchema",
    "GatewaySchema", "NewApiTokenSchema",
    "NodeSchema", "PasswordChangeSchema", "PinningSchema", "RouteSchema", "SipUserSchema", "TenantSchema",
    "VariableSchema", "BulkSchema", "TenantPurgeSchema",
]
