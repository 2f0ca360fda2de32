"""The address the app sees is the client address canary, under the harness's
server entry (werkzeug and gunicorn both serve what ``prepare`` returns)."""

from __future__ import annotations

import ipaddress

from flask import Flask
from flask import request

from harness.scenario.canary import make_canaries
from harness.serve import with_client_address
from harness.subject.runtime import CLIENT_ADDRESS


def test_every_request_comes_from_the_client_address() -> None:
    app = Flask("client_address")

    @app.get("/")
    def index() -> str:
        return str(request.remote_addr)

    app.wsgi_app = with_client_address(app.wsgi_app)  # type: ignore[method-assign]
    client = app.test_client()
    assert client.get("/").text == CLIENT_ADDRESS
    assert client.get("/", environ_base={"REMOTE_ADDR": "127.0.0.1"}).text == CLIENT_ADDRESS


def test_the_client_address_is_a_documentation_address_apart_from_the_forwarded_one() -> None:
    address = ipaddress.ip_address(CLIENT_ADDRESS)
    assert address in ipaddress.ip_network("198.51.100.0/24")  # TEST-NET-2
    assert ipaddress.ip_address(make_canaries().ip) not in ipaddress.ip_network("198.51.100.0/24")
