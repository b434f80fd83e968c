"""The Chinese search index: Sphinx's (``jieba`` segments the words), made cheaper.

The index is the one Sphinx 7.4 builds; two of its steps are done once instead of many
times. Sphinx collects every Latin word of the site in a list and looks each word it
stems up in that list (quadratic: about 20 of the Chinese build's seconds); here the
same lookup is in a set. And Sphinx stems each word of a page again on every page, twice
for a Latin word; here each word's stem is computed once for the whole site (the stemmer
is a pure function; whether a word is a Latin term is still asked each time, as the set
grows page by page).

Beside the English build (``concurrent``) the words of the pages read so far are
segmented while the translation waits for that build (``segment_while_waiting``), so
that the write phase, which comes after the wait, finds them done: jieba's segmentation
of a text depends on the text alone (and the dictionary, which is jieba's own unless
``html_search_options`` names another: then nothing is done ahead).
"""

from __future__ import annotations

from docutils import nodes
from sphinx.search import zh as chinese_search

#: jieba's words of each text segmented ahead of the write phase
SEGMENTED: dict[str, list[str]] = {}


def segment(text: str) -> list[str]:
    """jieba's words of ``text`` for the search index (``cut_for_search``), kept."""
    words = SEGMENTED.get(text)
    if words is None:
        words = SEGMENTED[text] = list(chinese_search.jieba.cut_for_search(text))
    return words


def texts_of(doctree) -> list[str]:
    """The texts the search index will split: every text and title, as Sphinx's
    ``IndexBuilder`` visits them (comments and raw markup aside)."""
    found: list[str] = []

    def visit(node) -> None:
        if isinstance(node, (nodes.comment, nodes.raw)):
            return
        if isinstance(node, (nodes.Text, nodes.title)):
            found.append(node.astext())
        for child in node.children:
            visit(child)

    visit(doctree)
    return found


class SegmentAhead:
    """The texts of the pages read so far, and their segmentation, one page at a time."""

    def __init__(self) -> None:
        self.pages: list[list[str]] = []

    def collect(self, app, doctree) -> None:
        """``doctree-read``: keep the page's texts."""
        self.pages.append(texts_of(doctree))

    def work(self):
        """Segment the kept texts, yielding after each page (the wait looks up between)."""
        while self.pages:
            for text in self.pages.pop(0):
                segment(text)
            yield


def segment_while_waiting(app) -> SegmentAhead | None:
    """Set up the segmentation ahead for a Chinese search index built beside the English
    build; return it, or None when it does not apply."""
    from . import concurrent

    if not (chinese_search.JIEBA and concurrent.waiting()):
        return None
    if app.config.html_search_language != "zh" or app.config.html_search_options.get("dict"):
        return None
    ahead = SegmentAhead()
    app.connect("doctree-read", ahead.collect)
    concurrent.while_waiting(ahead.work)
    return ahead


class ChineseSearch(chinese_search.SearchChinese):
    """Sphinx's Chinese search index (``jieba``), without its repeated work."""

    def init(self, options: dict) -> None:
        super().init(options)
        self.latin_terms = set()  # the base class shares one list among all instances
        self._stems: dict[str, str] = {}

    def split(self, input: str) -> list[str]:  # noqa: A002 (the base class's name)
        chinese = list(segment(input)) if chinese_search.JIEBA else []
        latin = [term.strip() for term in self.latin1_letters.findall(input)]
        self.latin_terms.update(latin)
        return chinese + latin

    def stem(self, word: str) -> str:
        # as SearchChinese.stem: a Latin word of three letters or more that its stem
        # would shorten below three (an acronym) is kept whole, in lower case
        lower = word.lower()
        stemmed = self._stems.get(lower)
        if stemmed is None:
            stemmed = self._stems[lower] = self.stemmer.stemWord(lower)
        if len(stemmed) < 3 <= len(word) and word in self.latin_terms:
            return lower
        return stemmed
