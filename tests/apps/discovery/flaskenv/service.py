from flask import Flask


def make_service():
    return Flask(__name__)
