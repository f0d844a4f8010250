"""End to end: a real headless Chromium against ``streamlit run`` on localhost.

Signs in as an intake officer (whose language is Thai), receives a building-permit dossier,
completes the intake step from My work, opens the case page with its diagram, and saves a
screenshot of it under the test's temporary folder.

Uses Debian's ``chromium`` and ``chromedriver`` (``.ci/run`` installs them); without them the
test is skipped, unless ``ONESTOP_REQUIRE_BROWSER`` is set, as in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.cli import main
from runtime.demo import PASSWORD
from runtime.i18n import translator
from tests.conftest import PROCEDURES, ROOT

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("ONESTOP_REQUIRE_BROWSER"):
        raise RuntimeError("ONESTOP_REQUIRE_BROWSER is set but chromium/chromedriver are not installed")
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402  (only importable once we know a browser exists)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402

pytestmark = pytest.mark.slow
_ = translator("th").gettext
WAIT = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def app_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ONESTOP_DATABASE_URL", f"sqlite:///{tmp_path / 'e2e.db'}")
    monkeypatch.setenv("ONESTOP_PROCEDURES_DIR", str(PROCEDURES))
    assert main(["seed-demo"]) == 0
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "runtime" / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    log = (tmp_path / "streamlit.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _healthy(url), f"streamlit did not start; see {tmp_path / 'streamlit.log'}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_receive_a_dossier_complete_intake_and_inspect_the_case(
    app_url: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    browser.get(app_url)  # before sign-in the page is in English; afterwards in somchai's Thai
    _type(browser, "User name", "somchai")
    _type(browser, "Password", PASSWORD)
    _click_button(browser, "Sign in")
    _visible(browser, By.XPATH, f"//h1[contains(., '{_('My work')}')]")

    _nav(browser, _("New case"))
    _type(browser, _("Applicant"), "Somchai Jaidee")
    _click_button(browser, _("Start case"))
    receipt = _visible(browser, By.XPATH, "//*[contains(text(), 'TH.50.01-')]").text
    found = re.search(r"TH\.50\.01-\d{6}-\d{4}", receipt)
    assert found, receipt
    dossier = found.group(0)

    _nav(browser, _("My work"))
    _click_button(browser, _("Open"))
    _visible(browser, By.XPATH, "//h1[contains(., 'Check completeness') or contains(., 'ตรวจสอบ')]")
    for label, value in (
        ("ชื่อผู้ขออนุญาต", "Somchai Jaidee"),
        ("เลขประจำตัวประชาชน", "1101700230074"),
        ("หมายเลขโทรศัพท์", "0812345678"),
        ("เลขที่โฉนด", "1234"),
    ):
        _type(browser, label, value)
    _type(browser, "ที่ตั้ง", "12 Moo 3, Chang Phueak", tag="textarea")
    _type(browser, "พื้นที่", "120")
    _type(browser, "จำนวนชั้น", "2")
    _choose(browser, "ประเภทการใช้", "residential")
    _visible(browser, By.XPATH, "//label[contains(., 'เอกสารครบถ้วน')]").click()
    plans = tmp_path / "plans.pdf"
    plans.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    uploader = _visible(
        browser, By.XPATH, "//div[@data-testid='stFileUploader'][.//*[contains(text(), 'แบบแปลนอาคาร')]]"
    )
    uploader.find_element(By.CSS_SELECTOR, "input[type='file']").send_keys(str(plans))
    _visible(browser, By.XPATH, "//*[contains(text(), 'plans.pdf')]")
    _click_button(browser, _("Submit"))
    _visible(browser, By.XPATH, f"//*[contains(text(), '{_('Saved.')}')]")

    _nav(browser, _("Cases"))
    _type(browser, _("Dossier code"), dossier)
    _click_button(browser, _("Search"))
    _visible(
        browser, By.XPATH, f"//*[contains(text(), '{_('Page {page} of {pages}').format(page=1, pages=1)}')]"
    )
    _click_button(browser, _("Open"))
    try:
        _visible(browser, By.CSS_SELECTOR, "g[data-element-id='check_completeness'].completed")
    except AssertionError:
        browser.save_screenshot(str(tmp_path / "failure.png"))
        (tmp_path / "failure.html").write_text(browser.page_source)
        raise
    assert _visible(browser, By.CSS_SELECTOR, "g[data-element-id='plan_review'].active")
    assert _visible(browser, By.XPATH, "//strong[contains(., 'plans.pdf')]")  # in the case's documents
    shot = tmp_path / "case-page.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


# -- helpers ---------------------------------------------------------------------------------


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _until(check: Callable[[], Any], message: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except Exception:  # the page is still rendering: try again
            found = None
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(message)


def _visible(driver: webdriver.Chrome, by: str, selector: str) -> WebElement:
    def find() -> WebElement | None:
        for element in driver.find_elements(by, selector):
            if element.is_displayed():
                return element
        return None

    found: WebElement = _until(find, f"nothing visible matches {selector}")
    return found


def _type(driver: webdriver.Chrome, label: str, text: str, tag: str = "input") -> None:
    field = _visible(driver, By.XPATH, f"//{tag}[starts-with(@aria-label, '{label}')]")
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text)
    field.send_keys(Keys.TAB)


def _choose(driver: webdriver.Chrome, label: str, option: str) -> None:
    field = _visible(driver, By.XPATH, f"//input[starts-with(@aria-label, '{label}')]")
    field.click()
    _visible(driver, By.XPATH, f"//*[@role='option'][contains(., '{option}')]").click()


def _click_button(driver: webdriver.Chrome, text: str) -> None:
    _visible(driver, By.XPATH, f"//button[normalize-space(.)='{text}']").click()


def _nav(driver: webdriver.Chrome, title: str) -> None:
    _visible(driver, By.XPATH, f"//*[@data-testid='stSidebarNav']//a[contains(., '{title}')]").click()
