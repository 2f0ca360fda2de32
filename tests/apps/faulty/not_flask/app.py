"""The target attribute is not a Flask app: nothing to boot, not the app's fault."""

app = 42
