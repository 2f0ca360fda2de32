from flask import Flask as F

application = F(__name__)
