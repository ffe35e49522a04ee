"""Login throttling: too many failed logins for one account from one address are refused for a while.

Failures are rows of `login_failures`, so every gunicorn worker and every instance counts the same
ones. They are keyed on the account the username resolved to (by the database's own comparison), so
no spelling of a name gets tries of its own; a name that is no account is counted under itself.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Callable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xmlcurl.models import AdminUser, LoginFailure


def subject_for(user: AdminUser | None, username: str) -> str:
    """What failures are counted under: the account, or the (case-folded) name when there is none."""
    return f"admin:{user.id}" if user is not None else f"name:{username.strip().casefold()[:70]}"


class LoginThrottle:
    """Counts failed logins per (subject, address) within a sliding window, in the database."""

    def __init__(self, limit: int = 5, window_seconds: float = 900.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock(), dt.timezone.utc).replace(tzinfo=None, microsecond=0)

    def retry_after(self, session: Session, subject: str, address: str) -> float:
        """Seconds until `subject` may try again from `address`; 0 when it may now."""
        now = self._now()
        since = now - dt.timedelta(seconds=self.window)
        recent = session.scalars(
            select(LoginFailure.failed_at)
            .where(LoginFailure.subject == subject, LoginFailure.address == address[:45], LoginFailure.failed_at > since)
            .order_by(LoginFailure.failed_at.desc()).limit(self.limit)).all()
        if len(recent) < self.limit:
            return 0.0
        return max(1.0, (recent[-1] + dt.timedelta(seconds=self.window) - now).total_seconds())

    def failed(self, session: Session, subject: str, address: str) -> None:
        """Count one failure (the caller commits); failures older than the window are dropped here."""
        now = self._now()
        session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - dt.timedelta(seconds=self.window)))
        session.add(LoginFailure(subject=subject, address=address[:45], failed_at=now))

    def succeeded(self, session: Session, subject: str, address: str) -> None:
        """Forget this subject's failures from this address (the caller commits)."""
        session.execute(delete(LoginFailure).where(LoginFailure.subject == subject, LoginFailure.address == address[:45]))
