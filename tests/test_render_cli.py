"""`xmlcurl render`: a capture edited after it was taken is rendered whole, with a warning."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import CONFORMANCE


def _edited_capture(tmp_path: Path) -> Path:
    """The user_call capture pointed at the demo's user 1001@acme.example.com; Content-Length left as captured."""
    raw = (CONFORMANCE / "requests" / "directory-user_call.http").read_bytes()
    edited = (raw.replace(b"key_value=example.com", b"key_value=acme.example.com")
              .replace(b"user=1000&domain=example.com", b"user=1001&domain=acme.example.com"))
    assert b"Content-Length: 609" in edited and len(edited.partition(b"\r\n\r\n")[2]) > 609
    path = tmp_path / "edited.http"
    path.write_bytes(edited)
    return path


def test_render_of_an_edited_capture_uses_the_whole_body_and_warns(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["render", "--node", "media-1", str(_edited_capture(tmp_path))])
    assert result.exit_code == 0, result.output
    assert ("warning: the capture's Content-Length is 609 but its body has 619 bytes (edited after capture?); "
            "rendered the whole body") in result.stderr
    assert b'<user id="1001"' in result.stdout_bytes
    assert "result=ok" in result.stderr


def test_render_of_an_unedited_capture_has_no_warning(app, tmp_path):
    path = tmp_path / "capture.http"
    path.write_bytes((CONFORMANCE / "requests" / "directory-user_call.http").read_bytes())
    result = app.test_cli_runner().invoke(args=["render", "--node", "media-1", str(path)])
    assert result.exit_code == 0, result.output
    assert "Content-Length" not in result.stderr
