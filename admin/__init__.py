"""Web admin of xmlcurl (server-rendered pages under /admin)."""
