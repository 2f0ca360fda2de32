from flask import Flask


def build():
    return Flask(__name__)
