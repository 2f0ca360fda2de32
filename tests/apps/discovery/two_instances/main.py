from flask import Flask

public = Flask("public")
admin = Flask("admin")
