"""The start page at `/`: where the admin, the fetch URL, the API and the probes are."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

bp = Blueprint("home", __name__, template_folder="templates")


@bp.get("/")
def index():
    """A page naming every entry point, with this server's own address in each."""
    settings = current_app.config["XMLCURL"]
    base = request.host_url.rstrip("/")
    return render_template("xmlcurl/home.html", base=base, demo=settings["SEED_DEMO"],
                           profile=settings["MEDIA_USER_PROFILE"])
