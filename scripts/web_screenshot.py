#!/usr/bin/env python3
"""The README's screenshot of the web page: docs/web-results.png (and docs/web-article.png).

    python scripts/web_screenshot.py [--out docs]

Builds, in a temporary folder, an index of a small made-up archive (a coastal town's papers,
written here from templates with a fixed seed: no real article's text goes into the repository),
serves it as `search serve` does and photographs the results page of a search, then an article
page, in headless Chromium (the browser tests' helpers: Debian's chromium and chromium-driver).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_web_browser import chromium, serving  # noqa: E402

SOURCES = ("Harbour Gazette", "Valley Times", "Coast Wire", "Northport Evening News")
STORIES = {  # section -> (headline templates, sentences, tags)
    "Transport": (["{place} ferry service cut as storm hits the harbour",
                   "New ferry route links {place} with the islands",
                   "Harbour pilots warn of delays at {place}"],
                  ["The ferry left the harbour two hours late after the storm passed.",
                   "Crews at {place} said the harbour wall held through the night.",
                   "Passengers waited at the terminal while the crossing was checked.",
                   "The operator promised a full timetable once the channel is dredged."],
                  ["ferries", "harbour"]),
    "Weather": (["Storm floods the {place} seafront", "Flood warning lifted for {place}",
                 "High tides expected along the coast near {place}"],
                ["Sandbags lined the harbour road as the tide rose.",
                 "Forecasters expect the storm to ease by the weekend.",
                 "The river burst its banks upstream of {place}.",
                 "Volunteers cleared the promenade after the flood."],
                ["floods", "storms"]),
    "Business": (["Fish prices rise at the {place} harbour market",
                  "Boatyard in {place} takes on twelve apprentices",
                  "Harbour dues to rise next spring, council says"],
                 ["Traders at the harbour market said catches were down a third.",
                  "The boatyard has orders for four new ferries.",
                  "Council officers said the harbour budget must balance by March.",
                  "Shop owners in {place} welcomed the extra visitors."],
                 ["fishing", "harbour"]),
    "Culture": (["{place} harbour festival draws record crowds",
                 "Lifeboat crew honoured at {place} ceremony"],
                ["Bands played on the quay until midnight.",
                 "The lifeboat crew were cheered along the harbour front.",
                 "Organisers said next year's festival will run for three days."],
                ["festivals"]),
}
PLACES = ("Northport", "Saltmarsh", "Kelby", "Anvil Bay", "Stonehaven")


def made_up_archive(count: int = 160, seed: int = 22) -> list[dict]:
    rng = random.Random(seed)
    start = date(2023, 1, 1)
    records = []
    for n in range(count):
        section = rng.choice(list(STORIES))
        headlines, sentences, tags = STORIES[section]
        place = rng.choice(PLACES)
        body = " ".join(rng.sample(sentences, k=min(3, len(sentences)))).format(place=place)
        day = start + timedelta(days=int(rng.triangular(0, 700, 420)))
        records.append({"id": f"demo-{n}", "title": rng.choice(headlines).format(place=place),
                        "body": body + " " + body.split(".")[0] + ".",
                        "date": day.isoformat(), "source": rng.choice(SOURCES), "section": section,
                        "tags": rng.sample(tags, k=1), "author": rng.choice(["Ada Marsh", "Tom Reed", "Ines Pike"])})
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--query", default="harbour ferry")
    args = parser.parse_args(argv)

    import searchlib
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work) / "corpus"
        corpus.mkdir()
        (corpus / "archive.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in made_up_archive()), encoding="utf-8")
        with searchlib.Index(Path(work) / "index") as idx:
            idx.update([corpus], jobs=1)
        with serving(Path(work) / "index") as url, chromium(1280, 1000) as driver:
            driver.get(f"{url}/?q={args.query.replace(' ', '+')}&facet=source&facet=section&facet=tags")
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".hits mark"))
            driver.save_screenshot(str(args.out / "web-results.png"))
            driver.find_element(By.CSS_SELECTOR, ".hit .title").click()
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "article .body"))
            driver.save_screenshot(str(args.out / "web-article.png"))
    print(f"wrote {args.out / 'web-results.png'} and {args.out / 'web-article.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
