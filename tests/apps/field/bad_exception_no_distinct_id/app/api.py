"""The JSON API: notes written by the logged-in user."""

from __future__ import annotations

from flask import Blueprint
from flask import g
from flask import jsonify
from flask import request
from flask.typing import ResponseReturnValue

from app import analytics
from app.db import get_db

bp = Blueprint("api", __name__)


@bp.post("/notes")
def create_note() -> ResponseReturnValue:
    if g.user is None:
        return jsonify(error="login required"), 401
    payload = request.get_json(silent=True) or request.form
    text = str(payload.get("text", "")).strip()
    if not text:
        return jsonify(error="text is required"), 400
    db = get_db()
    cursor = db.execute("INSERT INTO notes (user_id, text) VALUES (?, ?)", (g.user["id"], text))
    db.commit()
    analytics.track("note_created", length=len(text))
    return jsonify(id=cursor.lastrowid, length=len(text)), 201
