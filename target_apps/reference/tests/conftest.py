"""Fixtures: an app on a fresh database in ``tmp_path``, and its test client."""

from __future__ import annotations

import typing as t

import pytest
from app import create_app
from flask import Flask
from flask.testing import FlaskClient


@pytest.fixture
def app(tmp_path: t.Any) -> Flask:
    return create_app({"TESTING": True, "DATABASE": str(tmp_path / "test.sqlite")})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


SIGNUP = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "phone": "+44 20 7946 0000",
    "address": "12 St James's Square, London",
    "password": "correct horse battery staple",
}


@pytest.fixture
def signed_up(client: FlaskClient) -> FlaskClient:
    """A client whose user signed up (and so is logged in)."""
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 302
    return client
