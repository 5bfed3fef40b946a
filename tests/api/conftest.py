import json

import pytest
from django.test import Client
from django_scopes import scope

from api.models import ApiKeyScope
from api.services import api_key_create


def new_key(partner, scope_name=ApiKeyScope.READ_WRITE, name="Test key") -> str:
    with scope(partner=partner):
        _, secret = api_key_create(partner=partner, name=name, scope=scope_name, created_by=None)
    return secret


class Api:
    """A test client that sends a key and JSON."""

    def __init__(self, secret: str | None):
        self.client = Client()
        self.secret = secret

    def _headers(self, headers):
        base = {"HTTP_AUTHORIZATION": f"Bearer {self.secret}"} if self.secret else {}
        return {**base, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}}

    def get(self, path, params=None, headers=None):
        return self.client.get(f"/api/v1{path}", params or {}, **self._headers(headers))

    def send(self, method, path, body=None, headers=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        call = getattr(self.client, method.lower())
        return call(f"/api/v1{path}", data=data, content_type="application/json", **self._headers(headers))

    def post(self, path, body=None, headers=None, raw=None):
        return self.send("POST", path, body, headers, raw)

    def patch(self, path, body=None, headers=None):
        return self.send("PATCH", path, body, headers)

    def delete(self, path, headers=None):
        return self.send("DELETE", path, None, headers)


@pytest.fixture
def api(partner):
    return Api(new_key(partner))


@pytest.fixture
def read_api(partner):
    return Api(new_key(partner, ApiKeyScope.READ, name="Read key"))


@pytest.fixture
def other_api(other_partner):
    return Api(new_key(other_partner))
