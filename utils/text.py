"""One text preprocessing for both frameworks: tokens, a vocabulary, padded integer ids.

The TensorFlow and the PyTorch twin of a text lab build the same :class:`Vocabulary`
from the same training texts and feed their models the same ``int32`` matrix, so any
difference in their results comes from the frameworks, not from the preprocessing.

Tokenisation is deliberately simple and fully specified here:

* ``level="word"`` (English): lower-case; curly apostrophes become ``'``; a token is a
  run of letters or digits, possibly joined by apostrophes (``don't``, ``90s``).
  Everything else (punctuation, hyphens, underscores) separates tokens, so
  ``"Well-made!"`` gives ``["well", "made"]``.
* ``level="char"`` (Chinese, which does not put spaces between words): lower-case, then
  every character that is not white space is a token, punctuation included.

Ids: ``0`` is padding (:data:`PAD_TOKEN`), ``1`` is out-of-vocabulary
(:data:`OOV_TOKEN`), then tokens by decreasing training frequency, ties in alphabetical
order (so the vocabulary never depends on Python's hash seed).

:class:`CharVocabulary` is the character vocabulary of the pretraining labs: the same
ids plus ``2`` for the end of a text (:data:`EOS_TOKEN`), which separates the reviews
when they are joined into one long stream of ids for next-character prediction.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "EOS_ID",
    "EOS_TOKEN",
    "OOV_ID",
    "OOV_TOKEN",
    "PAD_ID",
    "PAD_TOKEN",
    "CharVocabulary",
    "Vocabulary",
    "char_tokenize",
    "length_stats",
    "token_lengths",
    "tokenize",
]

PAD_TOKEN = "<pad>"
OOV_TOKEN = "<unk>"
PAD_ID = 0
OOV_ID = 1
EOS_TOKEN = "<eos>"
EOS_ID = 2
_LEVELS = ("word", "char")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


def _check_level(level: str) -> None:
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {_LEVELS}, got {level!r}")


def tokenize(text: str, level: str = "word") -> list[str]:
    """Split ``text`` into lower-cased tokens (see the module docstring for the exact rule).

    Args:
        text: one text.
        level: ``"word"`` or ``"char"``.

    Returns:
        The tokens, in order.

    >>> tokenize("It's a well-made, 90-minute film!")
    ["it's", 'a', 'well', 'made', '90', 'minute', 'film']
    >>> tokenize("质量很好！", level="char")
    ['质', '量', '很', '好', '！']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    _check_level(level)
    text = text.lower().translate(_APOSTROPHES)
    if level == "word":
        return _WORD.findall(text)
    return [char for char in text if not char.isspace()]


def char_tokenize(text: str) -> list[str]:
    """``tokenize(text, level="char")``: one token per non-space character."""
    return tokenize(text, level="char")


def _check_texts(texts: Iterable[str], argument: str = "texts") -> list[str]:
    if isinstance(texts, str):
        raise TypeError(f"{argument} must be a sequence of str, not one str: wrap it in a list")
    texts = list(texts)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{argument}[{position}] is a {type(text).__name__}, expected str")
    return texts


class Vocabulary:
    """A token <-> id mapping built from training texts.

    ``tokens[i]`` is the token with id ``i``; ``tokens[0] == PAD_TOKEN`` and
    ``tokens[1] == OOV_TOKEN``. Build it with :meth:`build` from the *training* split only,
    so the validation and test texts contain honest out-of-vocabulary words.
    """

    def __init__(self, tokens: Sequence[str], level: str = "word") -> None:
        _check_level(level)
        tokens = list(tokens)
        if tokens[:2] != [PAD_TOKEN, OOV_TOKEN]:
            raise ValueError(f"tokens must start with {PAD_TOKEN!r}, {OOV_TOKEN!r}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("tokens must be unique")
        self._tokens = tuple(tokens)
        self._ids = {token: index for index, token in enumerate(tokens)}
        self.level = level

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        max_tokens: int = 10000,
        level: str = "word",
        min_count: int = 1,
    ) -> Vocabulary:
        """Count tokens in ``texts`` and keep the most frequent ones.

        Args:
            texts: training texts.
            max_tokens: size of the vocabulary *including* the padding and OOV entries
                (the convention of ``keras.layers.TextVectorization``); must be >= 3.
            level: ``"word"`` or ``"char"`` (see :func:`tokenize`).
            min_count: drop tokens seen fewer times than this.

        Returns:
            A vocabulary with ``len(vocab) <= max_tokens``.
        """
        texts = _check_texts(texts)
        _check_level(level)
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 3:
            raise ValueError(f"max_tokens must be an int >= 3, got {max_tokens!r}")
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be a positive int, got {min_count!r}")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(tokenize(text, level))
        for reserved in (PAD_TOKEN, OOV_TOKEN):
            counts.pop(reserved, None)
        ranked = sorted(
            (token for token, count in counts.items() if count >= min_count),
            key=lambda token: (-counts[token], token),
        )
        return cls([PAD_TOKEN, OOV_TOKEN, *ranked[: max_tokens - 2]], level)

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order (a copy)."""
        return list(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._ids

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._tokens == other._tokens and self.level == other.level

    def __hash__(self) -> int:
        return hash((self._tokens, self.level))

    def __repr__(self) -> str:
        preview = ", ".join(repr(token) for token in self._tokens[2:7])
        return f"Vocabulary(size={len(self)}, level={self.level!r}, most frequent: {preview}, ...)"

    def lookup(self, token: str) -> int:
        """Return the id of ``token`` (``OOV_ID`` if it is not in the vocabulary)."""
        return self._ids.get(token, OOV_ID)

    def encode(
        self,
        texts: Iterable[str],
        max_len: int = 100,
        padding: str = "post",
        truncating: str = "post",
    ) -> np.ndarray:
        """Turn texts into a padded matrix of token ids.

        Args:
            texts: ``N`` texts.
            max_len: length of every row; longer texts are cut, shorter ones padded with 0.
            padding: ``"post"`` pads at the end, ``"pre"`` at the start.
            truncating: ``"post"`` keeps the first ``max_len`` tokens, ``"pre"`` the last.

        Returns:
            ``int32`` array of shape ``(N, max_len)``.
        """
        texts = _check_texts(texts)
        if not isinstance(max_len, int) or isinstance(max_len, bool) or max_len < 1:
            raise ValueError(f"max_len must be a positive int, got {max_len!r}")
        for name, value in (("padding", padding), ("truncating", truncating)):
            if value not in ("pre", "post"):
                raise ValueError(f"{name} must be 'pre' or 'post', got {value!r}")
        ids = np.full((len(texts), max_len), PAD_ID, dtype=np.int32)
        for row, text in enumerate(texts):
            sequence = [self._ids.get(token, OOV_ID) for token in tokenize(text, self.level)]
            sequence = sequence[:max_len] if truncating == "post" else sequence[-max_len:]
            if not sequence:
                continue
            if padding == "post":
                ids[row, : len(sequence)] = sequence
            else:
                ids[row, max_len - len(sequence) :] = sequence
        return ids

    def decode(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """Map one row of ids back to tokens, dropping padding."""
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise ValueError(f"ids must be one sequence (1-D), got shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must lie in [0, {len(self)}), got {ids.min()}..{ids.max()}")
        return [self._tokens[i] for i in ids.tolist() if i != PAD_ID]

    def oov_rate(self, texts: Iterable[str]) -> float:
        """Fraction of the tokens of ``texts`` that are out of vocabulary."""
        tokens = [token for text in _check_texts(texts) for token in tokenize(text, self.level)]
        if not tokens:
            return 0.0
        return sum(token not in self._ids for token in tokens) / len(tokens)

    def save(self, path: Path | str) -> Path:
        """Write the vocabulary as JSON (``{"level": ..., "tokens": [...]}``)."""
        path = Path(path)
        payload = {"level": self.level, "tokens": list(self._tokens)}
        path.write_text(json.dumps(payload, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path | str) -> Vocabulary:
        """Read a vocabulary written by :meth:`save`."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(payload["tokens"], payload["level"])


class CharVocabulary(Vocabulary):
    """The most frequent characters of a training text, for a character language model.

    Ids: ``0`` padding, ``1`` unknown character (every character that is not kept),
    ``2`` end of text, then characters by decreasing training frequency (ties in code
    point order). Characters are those of :func:`char_tokenize`: lower-cased, white space
    dropped. Build it with :meth:`build` from the *training* text only.

    Everything :class:`Vocabulary` does works (``encode`` gives a padded matrix, for a
    classifier); :meth:`encode_text`, :meth:`encode_stream` and :meth:`decode_text` are
    what a language model needs.
    """

    #: how :meth:`decode_text` shows the unknown character and the end of a text
    UNKNOWN_MARK = "\ufffd"
    END_MARK = "\n"

    def __init__(self, tokens: Sequence[str], level: str = "char") -> None:
        if level != "char":
            raise ValueError(f"a CharVocabulary has level 'char', got level={level!r}")
        tokens = list(tokens)
        if tokens[:3] != [PAD_TOKEN, OOV_TOKEN, EOS_TOKEN]:
            raise ValueError(
                f"tokens must start with {PAD_TOKEN!r}, {OOV_TOKEN!r}, {EOS_TOKEN!r}, "
                f"got {tokens[:3]}"
            )
        long = [token for token in tokens[3:] if len(token) != 1]
        if long:
            raise ValueError(f"every token after the first three must be one character: {long[:3]}")
        super().__init__(tokens, level="char")

    @classmethod
    def build(  # type: ignore[override]
        cls, texts: Iterable[str], max_tokens: int = 3000, min_count: int = 1
    ) -> CharVocabulary:
        """Keep the ``max_tokens - 3`` most frequent characters of ``texts``.

        Args:
            texts: the training texts (a list of str).
            max_tokens: size of the vocabulary including the padding, unknown and
                end-of-text entries; an int >= 4.
            min_count: drop characters seen fewer times than this.

        Returns:
            A vocabulary with ``len(vocab) <= max_tokens``.
        """
        texts = _check_texts(texts)
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 4:
            raise ValueError(
                f"max_tokens must be an int >= 4 (3 special ids + 1 character), got {max_tokens!r}"
            )
        if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
            raise ValueError(f"min_count must be a positive int, got {min_count!r}")
        counts = Counter(char for text in texts for char in char_tokenize(text))
        ranked = sorted(
            (char for char, count in counts.items() if count >= min_count),
            key=lambda char: (-counts[char], char),
        )
        return cls([PAD_TOKEN, OOV_TOKEN, EOS_TOKEN, *ranked[: max_tokens - 3]])

    def __repr__(self) -> str:
        preview = ", ".join(repr(token) for token in self._tokens[3:8])
        return f"CharVocabulary(size={len(self)}, most frequent: {preview}, ...)"

    def encode_text(self, text: str) -> np.ndarray:
        """The ids of one text's characters, no padding: ``int32`` array of shape ``(L,)``."""
        return np.array([self.lookup(char) for char in char_tokenize(text)], dtype=np.int32)

    def encode_stream(self, texts: Iterable[str]) -> np.ndarray:
        """All ``texts`` joined into one stream, each followed by ``EOS_ID``.

        Returns:
            ``int32`` array of shape ``(total characters + len(texts),)``.
        """
        ids: list[int] = []
        for text in _check_texts(texts):
            ids.extend(self._ids.get(char, OOV_ID) for char in char_tokenize(text))
            ids.append(EOS_ID)
        return np.array(ids, dtype=np.int32)

    def decode_text(self, ids: Sequence[int] | np.ndarray) -> str:
        """One row of ids back to a string.

        Padding is dropped, the unknown character shows as ``UNKNOWN_MARK`` (U+FFFD) and
        the end of a text as ``END_MARK`` (a new line).
        """
        self.decode(ids)  # checks the shape and the range of the ids
        marks = {OOV_ID: self.UNKNOWN_MARK, EOS_ID: self.END_MARK}
        return "".join(
            marks.get(i, self._tokens[i]) for i in np.asarray(ids).tolist() if i != PAD_ID
        )

    def coverage(self, texts: Iterable[str]) -> float:
        """Fraction of the characters of ``texts`` that the vocabulary keeps (``1 - oov_rate``)."""
        return 1.0 - self.oov_rate(texts)

    @classmethod
    def load(cls, path: Path | str) -> CharVocabulary:
        """Read a vocabulary written by :meth:`save`."""
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(payload["tokens"], payload["level"])


def length_stats(
    texts: Iterable[str], level: str = "word", max_len: int | None = None
) -> dict[str, float]:
    """Summarise text lengths in tokens, to choose ``max_len``.

    Args:
        texts: the texts.
        level: ``"word"`` or ``"char"``.
        max_len: if given, also report ``"truncated"``, the fraction of texts longer than it.

    Returns:
        ``{"count", "mean", "median", "p90", "p95", "max"}`` (plus ``"truncated"``):
        ``count`` and ``max`` are ints, the rest floats.
    """
    lengths = token_lengths(texts, level)
    if not len(lengths):
        raise ValueError("texts is empty")
    stats: dict[str, float] = {
        "count": len(lengths),
        "mean": float(lengths.mean()),
        "median": float(np.median(lengths)),
        "p90": float(np.percentile(lengths, 90)),
        "p95": float(np.percentile(lengths, 95)),
        "max": int(lengths.max()),
    }
    if max_len is not None:
        stats["truncated"] = float(np.mean(lengths > max_len))
    return stats


def token_lengths(texts: Iterable[str], level: str = "word") -> np.ndarray:
    """Length of every text in tokens: ``int64`` array of shape ``(N,)`` (for histograms)."""
    return np.array([len(tokenize(text, level)) for text in _check_texts(texts)], dtype=np.int64)
