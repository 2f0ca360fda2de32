from flask import current_app, g, request


def _client():
    return current_app.extensions["posthog"]


def _ids(user_id=None):
    if user_id is None and g.get("user") is not None:
        user_id = g.user["id"]
    distinct_id = (
        str(user_id) if user_id is not None else request.headers.get("X-POSTHOG-DISTINCT-ID")
    )
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    return distinct_id, ({"$session_id": sid} if sid else {})


def event(name, user_id=None, **props):
    distinct_id, base = _ids(user_id)
    _client().capture(name, distinct_id=distinct_id, properties={**base, **props})


def identify(user_id, username, name):
    _client().set(distinct_id=str(user_id), properties={"username": username})
    event(name, user_id=user_id)


def capture_exception(exc):
    distinct_id, base = _ids()
    _client().capture_exception(exc, distinct_id=distinct_id, properties=base)
