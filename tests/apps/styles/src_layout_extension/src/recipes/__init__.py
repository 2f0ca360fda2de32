from flask import Flask

from recipes.config import Config
from recipes.extensions import posthog_ext


def create_app(config_class=Config):
    app = Flask(__name__)
    app.config.from_object(config_class)
    posthog_ext.init_app(app)

    from recipes.views import bp

    app.register_blueprint(bp)

    @app.errorhandler(500)
    def handle_500(e):
        posthog_ext.exception(getattr(e, "original_exception", None) or e)
        return "<h1>500</h1><p>Sorry.</p>", 500

    return app
