"""The on-disk cache: a value is made once per code version, and a generated corpus read back from it
equals one drawn afresh."""

import pickle

from lit_parallel import caching
from lit_parallel.problems.synthetic import generate


def test_a_value_is_made_once_and_a_new_fingerprint_prunes_the_old(tmp_path, monkeypatch):
    monkeypatch.setenv("LIT_PARALLEL_HOME", str(tmp_path))
    calls = []

    def make():
        calls.append(1)
        return {"made": len(calls)}

    assert caching.cached_value("kind", "aaaa", "x", make) == {"made": 1}
    assert caching.cached_value("kind", "aaaa", "x", make) == {"made": 1}
    assert len(calls) == 1
    assert caching.cached_value("kind", "bbbb", "x", make) == {"made": 2}
    assert [p.name for p in (tmp_path / "kind").iterdir()] == ["bbbb"]


def test_a_damaged_file_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv("LIT_PARALLEL_HOME", str(tmp_path))
    caching.cached_value("kind", "aaaa", "x", lambda: [1, 2, 3])
    path = tmp_path / "kind" / "aaaa" / "x.pickle"
    path.write_bytes(path.read_bytes()[:5])
    assert caching.cached_value("kind", "aaaa", "x", lambda: [4]) == [4]
    assert pickle.loads(path.read_bytes()) == [4]


def test_a_cached_corpus_equals_one_drawn_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv("LIT_PARALLEL_HOME", str(tmp_path))
    corpus = generate.Corpus(size=200, seed=3)
    generate._generate.cache_clear()
    first = corpus.problems()  # drawn, then written
    generate._generate.cache_clear()
    again = corpus.problems()  # read from the file
    assert (tmp_path / "synthetic" / generate.code_fingerprint() / "200-3.pickle").exists()
    assert again == first == [p for name in generate.SETS for p in generate._draw(corpus)[name]]
    assert again[0] is not first[0]


def test_the_fingerprint_follows_the_code(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    before = caching.source_fingerprint([a, b])
    assert caching.source_fingerprint([b, a]) == before
    a.write_text("x = 2\n")
    assert caching.source_fingerprint([a, b]) != before
