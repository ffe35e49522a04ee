"""The API's shapes of the cluster snapshot (dump only; the OpenAPI description is built from them)."""
from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields


class UtcDateTime(fields.DateTime):
    """A stored naive UTC time, shown with its offset (…+00:00) so no client reads it as local time."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class ProfileStateSchema(Schema):
    name = fields.String()
    state = fields.String(metadata={"description": "as `sofia xmlstatus` says it, e.g. RUNNING (1)"})
    seen_at = UtcDateTime()


class ClusterNodeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    address = fields.String(metadata={"description": "the event-socket address polled"})
    state = fields.String(metadata={"description": "up, down (two polls missed), unknown (not known yet) or "
                                                   "unmonitored (no event socket configured)"})
    since = UtcDateTime(allow_none=True, metadata={"description": "when the state last changed"})
    polled_at = UtcDateTime(allow_none=True)
    seen_at = UtcDateTime(allow_none=True, metadata={"description": "last complete answer"})
    missed_polls = fields.Integer()
    error = fields.String(allow_none=True)
    uptime_seconds = fields.Integer(allow_none=True)
    version = fields.String(allow_none=True)
    calls = fields.Integer(allow_none=True, metadata={"description": "`show calls count`"})
    sessions_per_second = fields.Integer(allow_none=True)
    max_sessions = fields.Integer(allow_none=True)
    registrations = fields.Integer()
    profiles = fields.List(fields.Nested(ProfileStateSchema))


class ClusterGatewaySchema(Schema):
    name = fields.String()
    node = fields.String()
    node_id = fields.Integer()
    node_role = fields.String()
    node_up = fields.Boolean(allow_none=True)
    profile = fields.String()
    state = fields.String(metadata={"description": "registration state: NOREG, REGED, FAILED, ..."})
    status = fields.String(metadata={"description": "UP or DOWN from the OPTIONS pings"})
    ping_ms = fields.Float(allow_none=True, metadata={"description": "last ping round trip; null before one"})
    calls_in = fields.Integer()
    calls_out = fields.Integer()
    failed_calls_in = fields.Integer()
    failed_calls_out = fields.Integer()
    changed_at = UtcDateTime(metadata={"description": "when state or status last changed"})
    seen_at = UtcDateTime()


class ClusterRegistrationSchema(Schema):
    tenant_id = fields.Integer(allow_none=True)
    tenant = fields.String(allow_none=True)
    user = fields.String()
    realm = fields.String()
    contact = fields.String()
    network_ip = fields.String()
    network_port = fields.Integer(allow_none=True)
    network_proto = fields.String()
    expires_at = UtcDateTime(allow_none=True)
    node = fields.String()
    node_id = fields.Integer()
    seen_at = UtcDateTime()


class TenantNodeCallsSchema(Schema):
    node = fields.String()
    node_id = fields.Integer()
    role = fields.String()
    calls = fields.Integer()
    cps = fields.Integer()
    seen_at = UtcDateTime()


class ClusterTenantCallsSchema(Schema):
    tenant_id = fields.Integer()
    tenant = fields.String()
    max_calls = fields.Integer()
    max_cps = fields.Integer()
    calls = fields.Integer(metadata={"description": "calls up on its media nodes (limit hash tenant-calls)"})
    router_calls = fields.Integer(metadata={"description": "calls up on the routers (limit hash tenant-calls-router)"})
    cps = fields.Integer(metadata={"description": "calls per second now on the routers (limit hash tenant-cps)"})
    nodes = fields.List(fields.Nested(TenantNodeCallsSchema))


def _envelope(item: type[Schema], name: str) -> type[Schema]:
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item)),
        "polled_at": UtcDateTime(allow_none=True, metadata={"description": "the monitor's last poll; null: it never ran"}),
    })


ClusterNodesSchema = _envelope(ClusterNodeSchema, "ClusterNodesSchema")
ClusterGatewaysSchema = _envelope(ClusterGatewaySchema, "ClusterGatewaysSchema")
ClusterRegistrationsSchema = _envelope(ClusterRegistrationSchema, "ClusterRegistrationsSchema")
ClusterCallsSchema = _envelope(ClusterTenantCallsSchema, "ClusterCallsSchema")
