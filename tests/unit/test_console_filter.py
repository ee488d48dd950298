"""What Prefect's console handler may print during ``epbatch run`` (``cli._ConsoleFilter``):
no flow or task run lines; epbatch's own marked lines and a lasting server's link as
``epbatch:`` lines; Prefect's other warnings as they are."""

import logging

import pytest

from epbatch.ops import cli


def record(name: str, message: str, level: int = logging.INFO, **extra: object):
    made = logging.LogRecord(name, level, __file__, 1, message, None, None)
    made.__dict__.update(extra)
    return made


def test_run_lines_are_left_to_the_ui_and_marked_ones_said(capsys, monkeypatch):
    monkeypatch.setattr(cli, "TEMPORARY", None)  # a lasting server: its link is worth keeping
    console = cli._ConsoleFilter()
    assert not console.filter(record("prefect.flow_runs", "Beginning flow run 'x'"))
    assert not console.filter(record("prefect.task_runs", "Finished in state Completed()"))
    assert not console.filter(record("prefect.flow_runs", "2 of 4 failed", logging.ERROR))
    assert capsys.readouterr().err == ""
    url = "http://127.0.0.1:4200/runs/flow-run/abc"
    assert not console.filter(record("prefect.flow_runs", f"View at {url}"))
    lost = "variant v: ConnectError(); submitting it again once the API answers"
    assert not console.filter(
        record("prefect.flow_runs", lost, logging.WARNING, epbatch_terminal=True)
    )
    assert capsys.readouterr().err.splitlines() == [
        f"epbatch: the flow run in the Prefect UI: {url}",
        f"epbatch: {lost}",
    ]


def test_a_temporary_servers_link_is_dropped(capsys, monkeypatch):
    monkeypatch.setattr(cli, "TEMPORARY", object())  # the run's own server, gone with it
    assert not cli._ConsoleFilter().filter(record("prefect.flow_runs", "View at http://x/runs"))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("name", "level", "shown"),
    [
        ("prefect.client", logging.WARNING, True),  # e.g. the server went away
        ("prefect.events.clients", logging.INFO, False),
        ("httpx", logging.WARNING, True),  # not Prefect's
    ],
)
def test_prefects_own_warnings_stay(name, level, shown):
    assert cli._ConsoleFilter().filter(record(name, "m", level)) is shown
