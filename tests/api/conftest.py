"""API fixtures: admin users and tokens made through the services (superadmin, acme and globex admins)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from xmlcurl import db
from xmlcurl.services import Actor, admin_users, api_tokens

ACME, GLOBEX, INITECH = 1, 2, 3


@dataclass
class Api:
    """The test client speaking to /api/v1 as one of the fixture's token holders."""

    client: Any
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, int] = field(default_factory=dict)

    def request(self, method: str, path: str, as_: str = "super", **kwargs):
        headers = kwargs.pop("headers", {})
        if as_ is not None:
            headers.setdefault("Authorization", f"Bearer {self.tokens[as_]}")
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)


def make_token_holders(app) -> Api:
    """Create the acme and globex tenant admins and a token for each, plus one for the demo superadmin."""
    api = Api(app.test_client())
    with app.app_context():
        session = db.session()
        actor = Actor.cli("pytest")
        holders = {"super": 1}
        for name, tenant_id in (("acme", ACME), ("globex", GLOBEX)):
            user = admin_users.create(session, actor, {"username": f"{name}-admin", "password": f"{name}-password-123",
                                                       "role": "tenant_admin", "tenant_id": tenant_id})
            holders[name] = user.id
        for name, user_id in holders.items():
            token, plaintext = api_tokens.create(session, actor, {"name": f"{name} tests", "admin_user_id": user_id})
            api.tokens[name] = plaintext
            api.token_ids[name] = token.id
        session.commit()
    return api


@pytest.fixture
def api(app) -> Api:
    return make_token_holders(app)


def assert_error(response, status: int, code: str, *fields: str) -> dict:
    """The answer is the API's JSON error with this status and code, naming these fields."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == status and body["code"] == code and body["message"]
    for name in fields:
        assert name in body["errors"], body
    return body
