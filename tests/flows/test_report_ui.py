"""The batch report's markdown artifact as the Prefect UI shows it, in headless Chromium: the
charts (SVG data URIs) are drawn as images, the savings table is there."""

import os
import re
from pathlib import Path

import pytest
from prefect import flow
from prefect.artifacts import create_markdown_artifact

from epbatch.report.html import report_markdown
from tests.report_pages import CHROMIUM, chromium
from tests.unit.test_report import fake_batch

pytestmark = [pytest.mark.prefect, pytest.mark.browser]


@pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason="no chromium (tools/test.sh installs it)"
)
def test_the_report_artifact_shows_its_charts_in_the_prefect_ui(prefect_api: str, tmp_path: Path):
    fake_batch(tmp_path / "batch")
    markdown = report_markdown(tmp_path / "batch")

    @flow(name="report-artifact-check")
    def publish() -> object:
        return create_markdown_artifact(markdown, key="report-ui-check")

    artifact_id = publish()
    page = f"{prefect_api.removesuffix('/api')}/artifacts/artifact/{artifact_id}"
    dom = chromium(["--virtual-time-budget=20000", "--dump-dom", page], tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr[-2000:]
    images = re.findall(r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]{1000,}"', dom.stdout)
    assert len(images) == 2, dom.stdout[-3000:]  # EUI, savings: drawn by the UI, not stripped
    assert "site GJ saved" in dom.stdout
