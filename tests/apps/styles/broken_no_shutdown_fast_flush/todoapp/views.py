from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)
import sqlite3
from werkzeug.security import check_password_hash, generate_password_hash

from todoapp import analytics

bp = Blueprint("views", __name__)

PAGE = """<!doctype html><title>Todo</title>{% for m in get_flashed_messages() %}<p>{{ m }}</p>{% endfor %}{{ body|safe }}"""
REGISTER = """<form method="post"><input type="email" name="email"><input name="full_name">
<input type="tel" name="phone"><input name="address"><input type="password" name="password">
<button>Register</button></form>"""
LOGIN = """<form method="post"><input type="email" name="email"><input type="password" name="password">
<button>Log in</button></form>"""


def db():
    if "conn" not in g:
        g.conn = sqlite3.connect(current_app.config["DB_PATH"])
        g.conn.row_factory = sqlite3.Row
    return g.conn


@bp.get("/")
def index():
    analytics.track("home_viewed")
    return render_template_string(PAGE, body="<h1>Todo</h1><a href='/register'>Register</a>")


@bp.route("/register", methods=["GET", "POST"])
def register():
    if request.method == "POST":
        f = request.form
        cur = db().execute(
            "INSERT INTO users (email, full_name, phone, address, pw) VALUES (?,?,?,?,?)",
            (
                f["email"],
                f["full_name"],
                f.get("phone", ""),
                f.get("address", ""),
                generate_password_hash(f["password"], method="pbkdf2:sha256:1000"),
            ),
        )
        db().commit()
        user = db().execute("SELECT * FROM users WHERE id=?", (cur.lastrowid,)).fetchone()
        session["uid"] = user["id"]
        g.user = user
        analytics.identify(user, "signed_up")
        return redirect(url_for("views.account"))
    return render_template_string(PAGE, body=REGISTER)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        user = (
            db().execute("SELECT * FROM users WHERE email=?", (request.form["email"],)).fetchone()
        )
        if user is None or not check_password_hash(user["pw"], request.form["password"]):
            return render_template_string(PAGE, body=LOGIN), 401
        session["uid"] = user["id"]
        g.user = user
        analytics.identify(user, "logged_in")
        return redirect(url_for("views.account"))
    return render_template_string(PAGE, body=LOGIN)


@bp.get("/logout")
def logout():
    if g.user is not None:
        analytics.track("logged_out")
    session.clear()
    return redirect(url_for("views.index"))


@bp.get("/account")
def account():
    if g.user is None:
        return redirect(url_for("views.login"))
    analytics.track("account_viewed")
    return render_template_string(PAGE, body="<h1>Your todos</h1>")


@bp.post("/api/todos")
def add_todo():
    if g.user is None:
        return jsonify(error="login required"), 401
    text = (request.get_json(silent=True) or {}).get("text", "")
    db().execute("INSERT INTO todos (user_id, text) VALUES (?, ?)", (g.user["id"], text))
    db().commit()
    analytics.track("todo_added", length=len(text))
    return jsonify(ok=True), 201
