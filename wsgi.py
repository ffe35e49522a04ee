"""WSGI entry point: gunicorn wsgi:app"""
from xmlcurl import create_app

app = create_app()
