"""Driving a server with wrk: a Lua script posting prepared bodies at random, one connection per request."""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .dataset import Request

LUA = """
local bodies = {%(bodies)s}
local auths = {%(auths)s}
local count = #bodies
local keepalive = %(keepalive)s

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
end

function request()
  local i = math.random(count)
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = auths[i]}
  if not keepalive then
    -- mod_xml_curl opens a new connection for every fetch.
    headers["Connection"] = "close"
  end
  return wrk.format("POST", "/freeswitch", headers, bodies[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = io.open("%(result)s", "w")
  out:write(string.format(
    '{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, ' ..
    '"timeout": %%d, "p50_us": %%d, "p99_us": %%d, "mean_us": %%.1f}',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
  out:close()
end
"""


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def _lua_string(data: bytes) -> str:
    text = data.decode("utf-8")
    level = "=" * 4
    if f"]{level}]" in text:
        raise ValueError("body holds the Lua long-string terminator")
    return f"[{level}[{text}]{level}]"


def check_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    return path


def run(port: int, requests: list[Request], seconds: int, connections: int, threads: int, workdir: Path,
        keepalive: bool = False) -> Load:
    """Run wrk for `seconds` against 127.0.0.1:`port`; errors are socket errors plus non-2xx/3xx answers."""
    result = workdir / "wrk-result.json"
    result.unlink(missing_ok=True)
    script = workdir / "wrk-script.lua"
    script.write_text(LUA % {
        "bodies": ",\n".join(_lua_string(r.body) for r in requests),
        "auths": ",\n".join(json.dumps(r.authorization) for r in requests),
        "keepalive": "true" if keepalive else "false",
        "result": str(result),
    }, encoding="utf-8")
    subprocess.run([check_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
                    "-s", str(script), f"http://127.0.0.1:{port}"],
                   check=True, capture_output=True, timeout=seconds + 60)
    data = json.loads(result.read_text(encoding="utf-8"))
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    return Load(
        requests_per_second=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        requests=data["requests"],
    )
