"""An article's page shows its follow-ups over time (issue 20's `search thread`), each a link to
its page, and /thread.json is `search thread --json`."""
import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from searchlib.web.app import create_app  # noqa: E402

from .conftest import index_of  # noqa: E402
from .test_threads import RECORDS, _id  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("webthread")
    with index_of(folder, RECORDS):
        pass
    return folder


def test_the_article_page_lists_the_follow_ups_and_the_twin_is_search_thread(folder, run):
    with TestClient(create_app(folder / "index"), base_url="http://127.0.0.1") as client:
        page = client.get("/article", params={"id": _id("seed")}).text
        twin = client.get("/thread.json", params={"id": _id("seed")})
        solo = client.get("/article", params={"id": _id("solo")}).text
        missing = client.get("/thread.json", params={"id": "no/such#id"})
    section = page[page.index('<section class="thread"'):page.index("</section>", page.index('<section class="thread"'))]
    assert "Follow-ups over time" in section
    for key in ("followup", "reaction", "early"):  # each a link to its own page
        assert f'href="/article?id={_id(key).replace("/", "%2F").replace("#", "%23")}' in section, key
    for key in ("seedcopy", "late", "solo"):  # its own copy, outside the window, another story
        assert _id(key).replace("/", "%2F").replace("#", "%23") not in section, key
    assert section.index(RECORDS["early"]["title"]) < section.index(RECORDS["followup"]["title"])  # oldest first
    assert "shares" in section and "Halloway" in section
    cli = run("--index", str(folder / "index"), "thread", _id("seed"), "--json")
    assert cli.exit_code == 0, cli.output
    assert twin.status_code == 200 and twin.text == cli.output
    assert "None within" in solo  # no follow-ups: said, not an empty list
    assert missing.status_code == 404 and "no/such#id" in missing.text


def test_in_a_browser_a_follow_up_opens_its_own_page(folder):
    from . import test_web_browser as real
    if not (real.CHROMIUM and real.CHROMEDRIVER):
        if not real.IN_CI:
            pytest.skip(real.MISSING)
        pytest.fail("CI is set and chromium or chromedriver is missing: .ci/run should have installed them")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    from urllib.parse import urlencode
    with real.serving(folder / "index") as url, real.chromium() as driver:
        driver.get(f"{url}/article?{urlencode({'id': _id('seed')})}")
        wait = WebDriverWait(driver, real.WAIT)
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "section.thread li a")))
        titles = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "section.thread li a")]
        assert RECORDS["followup"]["title"] in titles and RECORDS["seedcopy"]["title"] not in titles
        driver.find_element(By.LINK_TEXT, RECORDS["followup"]["title"]).click()
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "article h1"), RECORDS["followup"]["title"]))
        # and the follow-up's own page has the seed among its follow-ups (the same window, both ways)
        back = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "section.thread li a")]
        assert RECORDS["seed"]["title"] in back or RECORDS["seedcopy"]["title"] in back
