from flask import Flask


def create_app(config_name):
    return Flask(config_name)
