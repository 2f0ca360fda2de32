"""Thin helpers around the one PostHog client."""

from flask import current_app, g, request


def client():
    return current_app.extensions["posthog"]


def distinct_id():
    if g.get("user") is not None:
        return str(g.user["id"])
    return request.headers.get("X-POSTHOG-DISTINCT-ID")


def base_properties():
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    return {"$session_id": sid} if sid else {}


def track(event, **props):
    client().capture(event, distinct_id=distinct_id(), properties={**base_properties(), **props})


def identify(user, event):
    client().set(
        distinct_id=str(user["id"]), properties={"email": user["email"], "name": user["full_name"]}
    )

    client().capture(event, distinct_id=str(user["id"]), properties=base_properties())
