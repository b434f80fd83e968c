"""Tests of utils.text: tokenisation, vocabulary, encoding, length statistics."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from utils import data
from utils.text import (
    EOS_ID,
    EOS_TOKEN,
    OOV_ID,
    OOV_TOKEN,
    PAD_ID,
    PAD_TOKEN,
    CharVocabulary,
    Vocabulary,
    char_tokenize,
    length_stats,
    token_lengths,
    tokenize,
)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("It's a WELL-made film!", ["it's", "a", "well", "made", "film"]),
        ("Don\u2019t  miss it", ["don't", "miss", "it"]),
        ("A 90-minute bore...", ["a", "90", "minute", "bore"]),
        ("Amélie's charm", ["amélie's", "charm"]),
        ("snake_case 'quoted'", ["snake", "case", "quoted"]),
        ("", []),
    ],
)
def test_word_tokens(text, tokens):
    assert tokenize(text) == tokens


def test_char_tokens_drop_spaces_and_keep_punctuation():
    assert tokenize("好 评！OK", level="char") == ["好", "评", "！", "o", "k"]
    assert char_tokenize("质量 好") == ["质", "量", "好"]


def test_tokenize_rejects_bad_input():
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize(["a list"])
    with pytest.raises(ValueError, match="level"):
        tokenize("text", level="subword")


CORPUS = ["the film is good", "the film is bad", "good good acting", "bad plot"]


def test_vocabulary_orders_by_frequency_then_alphabet():
    vocab = Vocabulary.build(CORPUS)
    # good 3, bad 2, film 2, is 2, the 2, acting 1, plot 1
    assert vocab.tokens == [
        PAD_TOKEN,
        OOV_TOKEN,
        "good",
        "bad",
        "film",
        "is",
        "the",
        "acting",
        "plot",
    ]
    assert vocab.lookup("good") == 2 and vocab.lookup("unseen") == OOV_ID
    assert len(vocab) == 9 and "film" in vocab and "unseen" not in vocab


def test_vocabulary_size_limits():
    assert len(Vocabulary.build(CORPUS, max_tokens=4)) == 4
    assert Vocabulary.build(CORPUS, max_tokens=4).tokens[2:] == ["good", "bad"]
    assert Vocabulary.build(CORPUS, min_count=2).tokens[-1] == "the"
    with pytest.raises(ValueError, match="max_tokens"):
        Vocabulary.build(CORPUS, max_tokens=2)
    with pytest.raises(TypeError, match="wrap it in a list"):
        Vocabulary.build("one text")


def test_encode_pads_truncates_and_marks_unknown_words():
    vocab = Vocabulary.build(CORPUS)
    ids = vocab.encode(["the good unseen film", ""], max_len=3)
    assert ids.dtype == np.int32 and ids.shape == (2, 3)
    assert ids.tolist() == [[6, 2, OOV_ID], [PAD_ID] * 3]
    assert vocab.encode(["good film"], max_len=4, padding="pre").tolist() == [[0, 0, 2, 4]]
    assert vocab.encode(["the good bad film"], max_len=2, truncating="pre").tolist() == [[3, 4]]
    assert vocab.decode(vocab.encode(["bad plot"], max_len=5)[0]) == ["bad", "plot"]
    with pytest.raises(ValueError, match="padding"):
        vocab.encode(CORPUS, padding="middle")
    with pytest.raises(ValueError, match="max_len"):
        vocab.encode(CORPUS, max_len=0)
    with pytest.raises(TypeError, match="texts\\[1\\]"):
        vocab.encode(["fine", 3])


def test_vocabulary_round_trips_through_json(tmp_path):
    vocab = Vocabulary.build(["质量很好", "很差"], level="char")
    assert Vocabulary.load(vocab.save(tmp_path / "vocab.json")) == vocab
    assert vocab != Vocabulary.build(["质量很好", "很差"], level="word")


def test_vocabulary_does_not_depend_on_the_hash_seed():
    script = (
        "from utils.text import Vocabulary\n"
        "print(Vocabulary.build(['b a c', 'c b', 'd e f g', 'g h'] * 3).tokens)"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_length_stats_and_oov_rate():
    texts = ["a", "a b", "a b c", "a b c d"]
    stats = length_stats(texts, max_len=2)
    assert stats == {
        "count": 4,
        "mean": 2.5,
        "median": 2.5,
        "p90": pytest.approx(3.7),
        "p95": pytest.approx(3.85),
        "max": 4,
        "truncated": 0.5,
    }
    assert token_lengths(["好 评", "x"], level="char").tolist() == [2, 1]
    assert Vocabulary.build(["a b"]).oov_rate(["a z", "z"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="empty"):
        length_stats([])


def test_movie_reviews_encoding_real_data():
    splits = data.load_movie_reviews()
    vocab = Vocabulary.build(splits.x_train, max_tokens=10000)
    assert len(vocab) == 10000
    ids = vocab.encode(splits.x_test, max_len=100)
    assert ids.shape == (2550, 100) and ids.dtype == np.int32
    assert ids.max() < 10000 and (ids[:, 0] != PAD_ID).all()  # no snippet is empty
    stats = length_stats(splits.x_train, max_len=100)
    assert stats["truncated"] == 0.0 and 10 < stats["mean"] < 40  # max_len=100 cuts nothing
    assert vocab.oov_rate(splits.x_test) < 0.15


def test_chinese_reviews_char_encoding_real_data():
    splits = data.load_chinese_reviews()
    vocab = Vocabulary.build(splits.x_train, max_tokens=3000, level="char")
    assert len(vocab) == 3000 and vocab.level == "char"
    ids = vocab.encode(splits.x_val, max_len=150)
    assert ids.shape == (len(splits.x_val), 150)
    assert vocab.oov_rate(splits.x_val) < 0.02


REVIEWS = ["好好好吃", "很好 吃", "差"]


def test_char_vocabulary_keeps_the_most_frequent_characters():
    vocab = CharVocabulary.build(REVIEWS, max_tokens=5)
    # 好 4, 吃 2, 很 1, 差 1: the two most frequent are kept
    assert vocab.tokens == [PAD_TOKEN, OOV_TOKEN, EOS_TOKEN, "好", "吃"]
    assert vocab.level == "char" and len(vocab) == 5
    assert vocab.coverage(["好差"]) == pytest.approx(0.5)
    assert repr(vocab).startswith("CharVocabulary(size=5")
    assert CharVocabulary.build(REVIEWS, min_count=2).tokens[3:] == ["好", "吃"]


def test_char_vocabulary_encodes_streams_and_decodes_text():
    vocab = CharVocabulary.build(REVIEWS, max_tokens=5)
    assert vocab.encode_text("好 吃x").tolist() == [3, 4, OOV_ID]
    stream = vocab.encode_stream(["好吃", "差"])
    assert stream.dtype == np.int32 and stream.tolist() == [3, 4, EOS_ID, OOV_ID, EOS_ID]
    assert vocab.decode_text(stream) == "好吃\n\ufffd\n"
    assert vocab.decode_text([PAD_ID, 3]) == "好"
    assert vocab.encode(["好吃"], max_len=3).tolist() == [[3, 4, PAD_ID]]  # the parent's API
    with pytest.raises(ValueError, match="lie in"):
        vocab.decode_text([7])
    with pytest.raises(TypeError, match="wrap it in a list"):
        vocab.encode_stream("好吃")


def test_char_vocabulary_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="max_tokens must be an int >= 4"):
        CharVocabulary.build(REVIEWS, max_tokens=3)
    with pytest.raises(ValueError, match="min_count"):
        CharVocabulary.build(REVIEWS, min_count=0)
    with pytest.raises(ValueError, match="must start with"):
        CharVocabulary([PAD_TOKEN, OOV_TOKEN, "好"])
    with pytest.raises(ValueError, match="one character"):
        CharVocabulary([PAD_TOKEN, OOV_TOKEN, EOS_TOKEN, "好吃"])
    with pytest.raises(ValueError, match="level 'char'"):
        CharVocabulary([PAD_TOKEN, OOV_TOKEN, EOS_TOKEN], level="word")
    vocab = CharVocabulary.build(REVIEWS)
    loaded = CharVocabulary.load(vocab.save(tmp_path / "chars.json"))
    assert isinstance(loaded, CharVocabulary) and loaded == vocab


def test_char_vocabulary_coverage_on_the_chinese_reviews():
    splits = data.load_chinese_reviews()
    vocab = CharVocabulary.build(splits.x_train, max_tokens=2000)
    assert len(vocab) == 2000
    assert 0.98 < vocab.coverage(splits.x_val) < 1.0
