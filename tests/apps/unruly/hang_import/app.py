"""Defines its app, then never finishes importing: the boot deadline must end it."""

import threading

from flask import Flask

app = Flask(__name__)

threading.Event().wait()
