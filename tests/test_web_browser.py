"""The web page in a real browser: headless Chromium (Debian's chromium and chromium-driver, driven
by Selenium) against `search serve`'s application run by uvicorn on a free localhost port. Type a
query and see marked results, click a facet, click a timeline bar, open an article, go back and
find each state as it was. `.ci/run` installs the browser, so CI runs these rather than skip them.

`serving` and `chromium` are also used by scripts/web_screenshot.py (the README's screenshot).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("starlette")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from .conftest import index_of  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = "needs Debian's chromium and chromium-driver (.ci/run installs them)"
# Elsewhere they are skipped with that reason; in CI (CI=true, as .ci/run runs there) a missing
# browser is a failure, so a broken install step cannot pass as a green run that tested nothing.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER) and not IN_CI, reason=MISSING)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,900")
WAIT = 20  # seconds: the machine is shared and slow at times


@contextmanager
def serving(index_dir: Path):
    """The web page of `index_dir` served by uvicorn in a thread on a free port: yields its URL."""
    import uvicorn

    from searchlib.web import create_app, listen
    sock = listen("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(index_dir), log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def chromium(width: int = 1280, height: int = 900):
    """Headless Chromium through chromedriver, with a fresh profile folder (removed afterwards)."""
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="searchlib-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("CI is set and chromium or chromedriver is missing: .ci/run should have installed them")
    folder = tmp_path_factory.mktemp("browser")
    index_of(folder).close()
    with serving(folder / "index") as url, chromium() as driver:
        yield driver, url


def params(driver) -> dict:
    return {name: values[0] for name, values in parse_qs(urlsplit(driver.current_url).query).items()}


def count_note(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".count").text


def marks(driver) -> list[str]:
    return [m.text for m in driver.find_elements(By.CSS_SELECTOR, ".hits mark")]


def test_type_click_facet_and_bar_open_an_article_and_go_back(browser):
    driver, url = browser
    wait = WebDriverWait(driver, WAIT)
    driver.get(url + "/")
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys("/")  # the shortcut focuses the search box
    assert driver.switch_to.active_element.get_attribute("id") == "q"

    # results as you type: no Enter, the script fetches the page and the URL follows
    driver.switch_to.active_element.send_keys("valley")
    wait.until(lambda d: params(d).get("q") == "valley" and d.find_elements(By.CSS_SELECTOR, ".hits mark"))
    typed_url = driver.current_url
    assert count_note(driver) == "4 matching articles"
    assert set(marks(driver)) == {"valley"}
    assert driver.find_element(By.CSS_SELECTOR, ".hit .title mark").text == "valley"  # Epsilon's title

    # a facet narrows through the URL
    driver.find_element(By.XPATH, "//section[@data-facet='section']//a[normalize-space()='Weather']").click()
    wait.until(lambda d: 'section:"Weather"' in params(d).get("q", ""))
    facet_url = driver.current_url
    assert count_note(driver) == "2 matching articles"
    assert driver.find_element(By.ID, "q").get_attribute("value") == 'valley section:"Weather"'

    # back to all sections, then a timeline bar narrows the dates
    driver.back()
    wait.until(EC.url_to_be(typed_url))
    bar = driver.find_element(By.CSS_SELECTOR, "svg a.bar[data-label='2022-09']")
    bar.click()
    wait.until(lambda d: params(d).get("since") == "2022-09")
    bar_url = driver.current_url
    assert params(driver) == {"q": "valley", "since": "2022-09", "until": "2022-09"}
    assert count_note(driver).startswith("2 matching articles")
    titles = [a.text for a in driver.find_elements(By.CSS_SELECTOR, ".hit .title")]
    assert sorted(titles) == ["Alpha river flood", "Beta election result"]

    # open an article: the whole text, matches marked
    driver.find_element(By.LINK_TEXT, "Beta election result").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "article .body")))
    assert driver.find_element(By.CSS_SELECTOR, "article h1").text == "Beta election result"
    assert [m.text for m in driver.find_elements(By.CSS_SELECTOR, "article .body mark")] == ["valley"]

    # back: the same state, step by step
    driver.back()
    wait.until(EC.url_to_be(bar_url))
    assert count_note(driver).startswith("2 matching articles")
    assert driver.find_element(By.NAME, "since").get_attribute("value") == "2022-09"
    driver.back()
    wait.until(EC.url_to_be(typed_url))
    assert count_note(driver) == "4 matching articles"
    assert marks(driver) and set(marks(driver)) == {"valley"}
    driver.forward()  # and forward again: the dates, then the article
    wait.until(EC.url_to_be(bar_url))
    driver.forward()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "article .body mark")))
    assert facet_url not in (typed_url, bar_url)


def test_the_form_works_without_the_script_and_the_policy_blocks_inline_script(browser):
    driver, url = browser
    driver.get(url + "/?q=flood")
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys("harvest", Keys.ENTER)  # a plain GET form
    WebDriverWait(driver, WAIT).until(lambda d: params(d).get("q") == "harvest")
    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".hits mark"))
    assert marks(driver) == ["harvest", "harvest"]  # title and snippet
    # an inline script injected into the page does not run under the page's CSP
    ran = driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        "document.body.appendChild(s); return window.__ran === 1;")
    assert ran is False
