"""scripts/bench_cluster.py --generated (issue 19): bench_scale's model pickle (written by bench_scale.py
run as a script, so its classes are __main__'s) loads here, is never rewritten, and the generated corpus
holds exactly the articles asked for. On hand-written articles, in a fraction of a second."""
from __future__ import annotations

import pickle
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import bench_cluster  # noqa: E402
import bench_scale  # noqa: E402

import searchlib  # noqa: E402

BODIES = [
    "North Korea fired artillery shells near the border on Monday, officials said. Residents fled.",
    "The central bank raised interest rates by half a point to curb inflation, the governor said.",
    "Floods swept the valley after three days of rain; the river burst its banks near Zorvilleton.",
]


@pytest.fixture(scope="module")
def model():
    return bench_scale.TextModel([
        searchlib.Article(title=" ".join(body.split()[:6]), body=body, source="Reuters", topics=["x"],
                          date=datetime(2020, 1, 1, tzinfo=timezone.utc))
        for body in BODIES])


def _pickled_as_main(model, monkeypatch) -> bytes:
    """The bytes bench_scale.py run as a script writes: its classes named __main__.TextModel/Seed."""
    main = sys.modules["__main__"]
    with monkeypatch.context() as m:
        for cls in (bench_scale.TextModel, bench_scale.Seed):
            m.setattr(cls, "__module__", "__main__")
            m.setattr(main, cls.__name__, cls, raising=False)
        data = pickle.dumps((17, model), protocol=5)
    assert b"__main__" in data
    return data


def test_model_pickled_by_bench_scale_as_a_script_loads_and_is_not_rewritten(model, monkeypatch, tmp_path):
    cache = tmp_path / "model.pickle"
    cache.write_bytes(_pickled_as_main(model, monkeypatch))
    with pytest.raises(AttributeError):  # what a plain pickle.load does here (no __main__.TextModel)
        pickle.loads(cache.read_bytes())
    before = (cache.read_bytes(), cache.stat().st_mtime_ns)
    loaded = bench_cluster.load_model(tmp_path / "no-corpora", cache)
    assert type(loaded) is bench_scale.TextModel
    assert type(loaded.seeds[0]) is bench_scale.Seed
    assert list(bench_scale.generate(loaded, 50, seed=3)) == list(bench_scale.generate(model, 50, seed=3))
    assert (cache.read_bytes(), cache.stat().st_mtime_ns) == before


def test_generated_corpus_holds_the_articles_asked_for(model, tmp_path):
    paths = bench_cluster.generated_corpus(model, None, tmp_path / "corpus", 2345, seed=4)
    assert paths == [tmp_path / "corpus"]
    assert sorted(p.name for p in (tmp_path / "corpus" / "generated").iterdir()) == [
        "gen-00000.jsonl", "gen-00001.jsonl", "gen-00002.jsonl"]
    read = [a for a in searchlib.read_articles(paths) if isinstance(a, searchlib.Article)]
    assert len(read) == 2345
    assert len({a.key for a in read}) == 2345
    assert not (tmp_path / "corpus" / "real").exists()


def test_generated_corpus_never_writes_into_an_existing_folder(model, tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "mine.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(FileExistsError):
        bench_cluster.generated_corpus(model, None, tmp_path / "corpus", 10)
    assert [p.name for p in (tmp_path / "corpus").iterdir()] == ["mine.txt"]


@pytest.mark.shared
def test_generated_corpus_adds_a_copy_of_the_real_corpora(model, tmp_path):
    corpora = bench_cluster.DEFAULT_CORPORA
    real = sum(1 for a in searchlib.read_articles(bench_cluster.corpus_paths(corpora, False))
               if isinstance(a, searchlib.Article))
    paths = bench_cluster.generated_corpus(model, corpora, tmp_path / "corpus", 1500)
    read = sum(1 for a in searchlib.read_articles(paths) if isinstance(a, searchlib.Article))
    assert read == real + 1500
