"""The app's own module raises at import: a verdict on the app."""

from flask import Flask

app = Flask(__name__)

raise RuntimeError("boom at import")
