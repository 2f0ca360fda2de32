from flask import Flask


def create_app():
    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "ok")
    return app
