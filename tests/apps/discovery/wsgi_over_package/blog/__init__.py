import flask


def create_app():
    return flask.Flask(__name__)
