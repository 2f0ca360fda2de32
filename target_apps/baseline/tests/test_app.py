"""The app's behaviour, through Flask's test client."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import SIGNUP


def test_index_is_public(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign up" in response.data


def test_signup_form_has_labelled_fields(client: FlaskClient) -> None:
    html = client.get("/signup").get_data(as_text=True)
    for field in ("email", "name", "phone", "address", "password"):
        assert f'name="{field}"' in html
        assert f'<label for="{field}">' in html
    assert 'type="email"' in html
    assert 'type="tel"' in html


def test_signup_logs_the_user_in(signed_up: FlaskClient) -> None:
    response = signed_up.get("/dashboard")
    assert response.status_code == 200
    assert b"Hello, Ada Lovelace" in response.data


def test_signup_twice_is_refused(signed_up: FlaskClient) -> None:
    assert signed_up.post("/signup", data=SIGNUP).status_code == 400


def test_signup_stores_a_hashed_password(app: Flask, signed_up: FlaskClient) -> None:
    from app.db import get_db

    with app.app_context():
        row = get_db().execute("SELECT * FROM users").fetchone()
    assert row["email"] == SIGNUP["email"]
    assert row["password_hash"] != SIGNUP["password"]


def test_logout_then_login(signed_up: FlaskClient) -> None:
    assert signed_up.get("/logout").status_code == 302
    assert signed_up.get("/dashboard").status_code == 302
    login = {"email": SIGNUP["email"], "password": SIGNUP["password"], "next": "/dashboard"}
    response = signed_up.post("/login", data=login)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert signed_up.get("/dashboard").status_code == 200


def test_login_with_a_wrong_password_fails(signed_up: FlaskClient) -> None:
    signed_up.get("/logout")
    response = signed_up.post("/login", data={"email": SIGNUP["email"], "password": "nope"})
    assert response.status_code == 401


def test_login_form_carries_the_hidden_next_field(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/dashboard">' in html


def test_dashboard_requires_login(client: FlaskClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_notes_api_requires_login(client: FlaskClient) -> None:
    assert client.post("/api/notes", json={"text": "hello"}).status_code == 401


def test_notes_api_creates_a_note(signed_up: FlaskClient) -> None:
    response = signed_up.post("/api/notes", json={"text": "remember the milk"})
    assert response.status_code == 201
    assert response.get_json()["length"] == len("remember the milk")
    assert signed_up.post("/api/notes", data={"text": "a form note"}).status_code == 201
    assert b"remember the milk" in signed_up.get("/dashboard").data


def test_notes_api_rejects_empty_text(signed_up: FlaskClient) -> None:
    assert signed_up.post("/api/notes", json={"text": "  "}).status_code == 400


def test_unknown_page_renders_404(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"Page not found" in response.data


def test_error_renders_the_500_page(app: Flask, client: FlaskClient) -> None:
    # TESTING propagates exceptions; turn that off so the error handler runs.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
