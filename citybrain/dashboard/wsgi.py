"""WSGI entry point for running several dashboard processes under gunicorn."""

from citybrain.dashboard.app import create_app
from citybrain.settings import Settings

server = create_app(Settings()).server
