"""WSGI entry point: gunicorn wsgi:app (each worker creates the schema of an empty database, once between them)."""
from xmlcurl import create_app
from xmlcurl.bootstrap import prepare_app

app = create_app()
prepare_app(app)
