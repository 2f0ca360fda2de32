import contextlib
import uuid

from flask import Blueprint, current_app, g, redirect, request, session, url_for
from posthog import identify_context, new_context, set_context_session
from werkzeug.security import check_password_hash, generate_password_hash

bp = Blueprint("journal", __name__)
USERS = {}  # email -> user
ENTRIES = {}  # user id -> [text]


@contextlib.contextmanager
def analytics(user=None):
    """A PostHog context for this piece of work: who, and which browser session."""
    with new_context(capture_exceptions=False):
        user = user or g.get("user")
        who = user["id"] if user else request.headers.get("X-POSTHOG-DISTINCT-ID")
        if who:
            identify_context(who)
        sid = request.headers.get("X-POSTHOG-SESSION-ID")
        if sid:
            set_context_session(sid)
        yield current_app.extensions["posthog"]


@bp.before_app_request
def load_user():
    g.user = USERS.get(session.get("email", ""))


PAGE = "<!doctype html><html><body>{}</body></html>"


@bp.get("/")
def index():
    with analytics() as ph:
        ph.capture("visited_home")
    return PAGE.format('<a href="/sign-up">Start a journal</a>')


@bp.route("/sign-up", methods=["GET", "POST"])
def sign_up():
    if request.method == "GET":
        return PAGE.format("""<form method="post">
<input name="firstName"><input name="lastName"><input type="email" name="email">
<input type="password" name="password"><input type="submit" value="Sign up"></form>""")
    email = request.form["email"]
    user = {
        "id": f"usr_{uuid.uuid4().hex[:12]}",
        "email": email,
        "first": request.form.get("firstName", ""),
        "last": request.form.get("lastName", ""),
        "pw": generate_password_hash(request.form["password"], method="pbkdf2:sha256:1000"),
    }
    USERS[email] = user
    session["email"] = email
    with analytics(user) as ph:
        ph.capture(
            "signed_up",
            properties={
                "$set": {"email": email, "first_name": user["first"], "last_name": user["last"]}
            },
        )
    return redirect(url_for("journal.dashboard"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if request.method == "GET":
        return PAGE.format("""<form method="post"><input type="email" name="email">
<input type="password" name="password"><input type="submit" value="Sign in"></form>""")
    user = USERS.get(request.form.get("email", ""))
    if user is None or not check_password_hash(user["pw"], request.form.get("password", "")):
        return PAGE.format("nope"), 403
    session["email"] = user["email"]
    with analytics(user) as ph:
        ph.capture("signed_in", properties={"$set": {"email": user["email"]}})
    return redirect(url_for("journal.dashboard"))


@bp.get("/sign-out")
def sign_out():
    if g.user:
        with analytics() as ph:
            ph.capture("signed_out")
    session.clear()
    return redirect("/")


@bp.get("/dashboard")
def dashboard():
    if not g.user:
        return redirect(url_for("journal.sign_in"))
    with analytics() as ph:
        ph.capture("dashboard_viewed", properties={"entries": len(ENTRIES.get(g.user["id"], []))})
    return PAGE.format('<a href="/notes/new">Write</a>')


@bp.route("/notes/new", methods=["GET", "POST"])
def new_note():
    if not g.user:
        return redirect(url_for("journal.sign_in"))
    if request.method == "POST":
        text = request.form.get("body", "")
        ENTRIES.setdefault(g.user["id"], []).append(text)
        with analytics() as ph:
            ph.capture("entry_written", properties={"words": len(text.split())})
        return redirect(url_for("journal.dashboard"))
    return PAGE.format(
        '<form method="post"><textarea name="body"></textarea><button>Save</button></form>'
    )


def register_errors(app):
    @app.errorhandler(500)
    def on_500(e):
        with analytics() as ph:
            ph.capture_exception(getattr(e, "original_exception", None) or e)
        return PAGE.format("Something broke."), 500
