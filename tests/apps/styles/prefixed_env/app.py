import atexit

from flask import Flask, g, jsonify, redirect, request, session
from posthog import Posthog

app = Flask(__name__)
app.config.from_mapping(SECRET_KEY="dev", POSTHOG_HOST="https://us.i.posthog.com")
app.config.from_prefixed_env()  # FLASK_SECRET_KEY, FLASK_POSTHOG_API_KEY, FLASK_POSTHOG_HOST

ph = Posthog(
    app.config.get("POSTHOG_API_KEY", ""),
    host=app.config["POSTHOG_HOST"],
    enable_exception_autocapture=True,
    disabled=not app.config.get("POSTHOG_API_KEY"),
)
atexit.register(ph.shutdown)
USERS = {}


def who():
    if session.get("uid"):
        return session["uid"]
    return request.headers.get("X-POSTHOG-DISTINCT-ID")


def base():
    sid = request.headers.get("X-POSTHOG-SESSION-ID")
    return {"$session_id": sid} if sid else {}


@app.get("/")
def index():
    ph.capture("home", distinct_id=who(), properties=base())
    return "<a href='/signup'>Sign up</a>"


@app.route("/signup", methods=["GET", "POST"])
def signup():
    if request.method == "POST":
        uid = f"u{len(USERS) + 1}"
        USERS[request.form["email"]] = (uid, request.form["password"])
        session["uid"] = uid
        ph.set(distinct_id=uid, properties={"email": request.form["email"]})
        ph.capture("signed_up", distinct_id=uid, properties=base())
        return redirect("/dashboard")
    return (
        "<form method=post><input type=email name=email><input name=name>"
        "<input type=password name=password><button>Sign up</button></form>"
    )


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        uid, pw = USERS.get(request.form["email"], (None, None))
        if uid is None or pw != request.form["password"]:
            return "bad", 401
        session["uid"] = uid
        ph.set(distinct_id=uid, properties={"email": request.form["email"]})
        ph.capture("logged_in", distinct_id=uid, properties=base())
        return redirect("/dashboard")
    return (
        "<form method=post><input type=email name=email>"
        "<input type=password name=password><button>Log in</button></form>"
    )


@app.get("/logout")
def logout():
    session.clear()
    return redirect("/")


@app.get("/dashboard")
def dashboard():
    if not session.get("uid"):
        return redirect("/login")
    ph.capture("dashboard", distinct_id=who(), properties=base())
    return "dashboard"


@app.errorhandler(500)
def err(e):
    ph.capture_exception(
        getattr(e, "original_exception", None) or e, distinct_id=who(), properties=base()
    )
    return "error", 500
