"""govflow: BPMN-driven collaborative approval for county and city governments."""

from __future__ import annotations

from flask import Flask

from config import Config


def create_app(config: type[Config] | Config) -> Flask:
    """Build the Flask application: extensions, blueprints, CLI. No I/O, no scheduler, no migrations."""
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.from_object(config)
    if not app.config.get("SECRET_KEY"):
        raise SystemExit("SECRET_KEY is not set: refusing to start in production without it.")

    from app.services.runtime import configure_timezone
    from app.web import init_web

    configure_timezone(app.config["GOVFLOW_TIMEZONE"])

    init_web(app)

    from app.cli import register_cli

    register_cli(app)
    return app
