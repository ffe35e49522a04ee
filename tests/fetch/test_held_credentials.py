"""A worker without the fetch cache holds node credentials until something could have changed them."""
from __future__ import annotations

from types import SimpleNamespace

from xmlcurl.fetch.auth import HeldCredentials


class Changes:
    """A read connection answering the poll with a version, an epoch and the tables changed since."""

    def __init__(self) -> None:
        self.version, self.epoch, self.tables = 10, "a", []

    def execute(self, _statement, parameters):
        assert "since" in parameters
        rows = [SimpleNamespace(version=self.version, epoch=self.epoch, table_name=t) for t in self.tables]
        return SimpleNamespace(all=lambda: rows or [SimpleNamespace(version=self.version, epoch=self.epoch,
                                                                     table_name=None)])

    def rollback(self) -> None:
        pass


def _held(changes: Changes):
    held = HeldCredentials(seconds=0)
    loads = []

    def lookup():
        return held.lookup(("node", "media-1"), lambda: loads.append(1) or "credentials", lambda: changes)

    return lookup, loads


def test_changes_to_other_tables_keep_the_credentials_held():
    changes = Changes()
    lookup, loads = _held(changes)
    lookup()
    changes.version, changes.tables = 12, ["sip_users", "tenants"]
    lookup()
    assert loads == [1]


def test_a_change_to_the_nodes_table_drops_them():
    changes = Changes()
    lookup, loads = _held(changes)
    lookup()
    changes.version, changes.tables = 12, ["sip_users", "nodes"]
    lookup()
    assert loads == [1, 1]


def test_a_new_epoch_a_version_gone_back_or_changes_lost_from_the_ring_drop_them():
    for change in ({"epoch": "b"}, {"version": 9}, {"version": 15, "tables": ["sip_users"]}):
        changes = Changes()
        lookup, loads = _held(changes)
        lookup()
        for name, value in change.items():
            setattr(changes, name, value)
        lookup()
        assert loads == [1, 1], change
