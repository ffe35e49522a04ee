"""The cluster monitor: polls every enabled node's event socket and keeps the latest snapshot in the database.

`xmlcurl monitor` runs `runner.run_forever` beside gunicorn; `parse` reads FreeSWITCH's answers,
`poll` asks the nodes (in parallel, each within its own time limit), `store` writes one row per node
and per thing, `snapshot` reads them back for the admin, the API, /metrics and `xmlcurl status`.
"""
