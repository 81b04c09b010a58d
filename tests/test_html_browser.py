"""The HTML liner notes in a real headless Chromium (Debian's chromium + chromium-driver):
the page renders, and clicking a narrative timestamp or a section seeks the audio player."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
import soundfile as sf
from agent_fixtures import song_analysis

from linernotes.exports.html_page import html_page
from linernotes.tools.schema import Narrative

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="chromium and chromium-driver are not installed")


@pytest.fixture
def page(tmp_path):
    """The fixture song's page beside a real 60 s recording, so the player can seek anywhere."""
    audio = tmp_path / "music" / "fixture song.wav"
    audio.parent.mkdir()
    times = np.arange(8000 * 60) / 8000
    sf.write(audio, 0.2 * np.sin(2 * np.pi * 220 * times), 8000)
    analysis = song_analysis()
    analysis = analysis.model_copy(update={
        "source": analysis.source.model_copy(update={"path": str(audio)}),
        "narrative": Narrative(markdown="# Fixture Song\n\nThe verse starts at 0:15 and the chorus at 0:40.",
                               provider="none", model=None, verified=True, claims_checked=2, claims_failed=0),
    })
    notes = tmp_path / "notes"
    notes.mkdir()
    path = notes / "fixture.html"
    path.write_text(html_page(analysis, html_dir=notes))
    return path


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1300",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _current_time(driver) -> float:
    return driver.execute_script("return document.getElementById('player').currentTime")


def _wait_for(condition, *, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_page_renders_and_timestamps_seek_the_player(page, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    assert _wait_for(lambda: browser.execute_script(
        "return document.getElementById('player').readyState") >= 1), "the player did not load the audio"
    assert browser.execute_script("return document.getElementById('player').duration") == pytest.approx(60, abs=0.1)
    shot = tmp_path / "page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one

    links = {link.text: link for link in browser.find_elements(By.CSS_SELECTOR, "#narrative a.seek")}
    assert set(links) == {"0:15", "0:40"}
    links["0:40"].click()
    assert _wait_for(lambda: 40.0 <= _current_time(browser) < 45.0), _current_time(browser)

    # A section of the timeline seeks to its start.
    browser.execute_script("document.getElementById('player').pause()")
    browser.find_element(By.CSS_SELECTOR, "#timeline g.section[data-t='15.000']").click()
    assert _wait_for(lambda: 15.0 <= _current_time(browser) < 16.0), _current_time(browser)
