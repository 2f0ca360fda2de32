from flask import Flask


def build_app():
    return Flask(__name__)


def create_app(config_name):
    app = Flask(__name__)
    app.config["NAME"] = config_name
    return app
