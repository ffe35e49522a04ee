"""Driving a server with wrk: a Lua script posting prepared bodies at random, one connection per request."""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .dataset import Request, Spread

LUA = """
local bodies = {%(bodies)s}
local auths = {%(auths)s}
-- A spread: one template whose QQ<n>QQ marks are filled from a row of values (bodies holds the
-- template), read from a file: a table literal of a million rows is more than Lua compiles.
-- Each line: the authorization, then the values, tab-separated.
local rows = {}
local rows_file = %(rows_file)s
if rows_file then
  for line in io.lines(rows_file) do
    local row = {}
    for field in line:gmatch("[^\t]+") do row[#row + 1] = field end
    rows[#rows + 1] = row
  end
end
local count = #rows > 0 and #rows or #bodies
-- The template cut once at its marks: a request joins the pieces with its row's values. gsub with a
-- function (which LuaJIT does not compile) cost wrk more CPU per request than any other mode's, CPU
-- that the server shares on this machine.
local pieces, marks = {}, {}
if #rows > 0 then
  local at = 1
  for first, n, after in bodies[1]:gmatch("()QQ(%%d+)QQ()") do
    pieces[#pieces + 1] = bodies[1]:sub(at, first - 1)
    marks[#marks + 1] = tonumber(n) + 1
    at = after
  end
  pieces[#pieces + 1] = bodies[1]:sub(at)
end
local keepalive = %(keepalive)s

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
end

function request()
  local i = math.random(count)
  local body, auth
  if #rows > 0 then
    local row = rows[i]
    local parts = {}
    for k = 1, #marks do
      parts[2 * k - 1] = pieces[k]
      parts[2 * k] = row[marks[k]]
    end
    parts[#parts + 1] = pieces[#pieces]
    body = table.concat(parts)
    auth = row[1]
  else
    body, auth = bodies[i], auths[i]
  end
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = auth}
  if not keepalive then
    -- mod_xml_curl opens a new connection for every fetch.
    headers["Connection"] = "close"
  end
  return wrk.format("POST", "/freeswitch", headers, body)
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


def _row_line(authorization: str, values: tuple[str, ...]) -> str:
    fields = (authorization, *values)
    if any(not value or "\t" in value or "\n" in value for value in fields):
        raise ValueError(f"a spread value is empty or holds a tab or newline: {fields!r}")
    return "\t".join(fields) + "\n"


def check_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    return path


def run(port: int, requests: "list[Request] | Spread", seconds: int, connections: int, threads: int,
        workdir: Path, keepalive: bool = False) -> Load:
    """Run wrk for `seconds` against 127.0.0.1:`port`; errors are socket errors plus non-2xx/3xx answers."""
    result = workdir / "wrk-result.json"
    result.unlink(missing_ok=True)
    script = workdir / "wrk-script.lua"
    rows_file = "nil"
    if isinstance(requests, Spread):
        # A million bodies would not fit in wrk's memory: the rows' few values fill one template.
        bodies, auths = _lua_string(requests.template), ""
        rows_path = workdir / "wrk-rows.tsv"
        rows_path.write_text("".join(_row_line(auth, row) for auth, row in zip(requests.authorizations, requests.rows)),
                             encoding="utf-8")
        rows_file = json.dumps(str(rows_path))
    else:
        bodies = ",\n".join(_lua_string(r.body) for r in requests)
        auths = ",\n".join(json.dumps(r.authorization) for r in requests)
    script.write_text(LUA % {"bodies": bodies, "auths": auths, "rows_file": rows_file,
                             "keepalive": "true" if keepalive else "false", "result": str(result)},
                      encoding="utf-8")
    ran = subprocess.run([check_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
                          "-s", str(script), f"http://127.0.0.1:{port}"],
                         check=True, capture_output=True, timeout=seconds + 120)
    if not result.exists():
        # wrk exits 0 when its script fails to load: say why instead of a missing file.
        raise RuntimeError(f"wrk wrote no result: {ran.stderr.decode(errors='replace')[-500:]}")
    data = json.loads(result.read_text(encoding="utf-8"))
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    return Load(
        requests_per_second=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        requests=data["requests"],
    )
