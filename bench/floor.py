"""The framework floor: a minimal Flask app that parses the form body and answers a constant document.

Served under the same gunicorn settings as xmlcurl, it shows what Flask + gunicorn alone cost per
fetch on this machine; xmlcurl's figures are reported as a ratio to it.
"""
from flask import Flask, Response, request

#: About the size of a directory user answer.
DOCUMENT = (
    '<document type="freeswitch/xml">\n  <section name="directory">\n    <domain name="t00001.example.net">\n'
    + "".join(f'      <variable name="variable_{i:02d}" value="value-{i:02d}-abcdefghijklmnop"/>\n' for i in range(16))
    + "    </domain>\n  </section>\n</document>\n"
).encode()

app = Flask(__name__)


@app.post("/freeswitch")
def fetch() -> Response:
    """Parse the body as mod_xml_curl sends it, then answer the constant document."""
    if not request.form.get("hostname"):
        return Response("bad fetch\n", status=400, mimetype="text/plain")
    return Response(DOCUMENT, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok\n", mimetype="text/plain")
