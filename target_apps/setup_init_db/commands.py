"""``flask init-db``: the schema, created once by hand, never at start-up."""

from __future__ import annotations

import sqlite3

import click
from flask import current_app


@click.command("init-db")
def init_db() -> None:
    """Create the accounts table in the configured database."""
    with sqlite3.connect(current_app.config["ACCOUNTS_DB"]) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT UNIQUE, pw TEXT)")
    click.echo("database ready")
