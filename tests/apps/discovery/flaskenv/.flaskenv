# Flask settings for `flask run`
export FLASK_APP="service:make_service"
FLASK_DEBUG=1
