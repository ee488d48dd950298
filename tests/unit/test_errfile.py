"""eplusout.err parsing."""

from epbatch.results.errfile import parse_err_text

FATAL = """Program Version,EnergyPlus, Version 25.2.0-cf7368216c, YMD=2026.11.23 23:28,
   ** Warning ** Version: in IDF="26.2" not the same as expected="25.2"
   ** Severe  ** GetSurfaceData: BuildingSurface:Detailed="WALL-1", invalid Construction Name="NOPE".
   **   ~~~   ** Construction not found.
   **  Fatal  ** GetSurfaceData: Errors discovered, program terminates.
   ...Summary of Errors that led to program termination:
   ..... Reference severe error count=1
   ************* EnergyPlus Terminated--Fatal Error Detected. 1 Warning; 1 Severe Errors; Elapsed Time=00hr 00min  0.20sec
"""

OK = """   ** Warning ** Version: in IDF="26.2" not the same as expected="25.2"
   **   ~~~   ** continuation of a warning is not a message
   ** Warning ** Another warning
   ************* EnergyPlus Completed Successfully-- 2 Warning; 0 Severe Errors; Elapsed Time=00hr 00min  2.43sec
"""


def test_fatal_run():
    summary = parse_err_text(FATAL)
    assert not summary.completed
    assert (summary.warnings, summary.severe, summary.fatal) == (1, 1, 1)
    assert summary.messages == [
        'Severe: GetSurfaceData: BuildingSurface:Detailed="WALL-1", invalid Construction '
        'Name="NOPE". Construction not found.',
        "Fatal: GetSurfaceData: Errors discovered, program terminates.",
    ]


def test_successful_run():
    summary = parse_err_text(OK)
    assert summary.completed
    assert (summary.warnings, summary.severe, summary.fatal) == (2, 0, 0)
    assert summary.messages == []


def test_truncated_file_is_not_completed():
    summary = parse_err_text(OK.splitlines()[0])
    assert not summary.completed and summary.warnings == 1
