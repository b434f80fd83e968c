"""The Chinese search index: Sphinx's (``jieba`` segments the words), made cheaper.

The index is the one Sphinx 7.4 builds; two of its steps are done once instead of many
times. Sphinx collects every Latin word of the site in a list and looks each word it
stems up in that list (quadratic: about 20 of the Chinese build's seconds); here the
same lookup is in a set. And Sphinx stems each word of a page again on every page, twice
for a Latin word; here each word's stem is computed once for the whole site (the stemmer
is a pure function; whether a word is a Latin term is still asked each time, as the set
grows page by page).
"""

from __future__ import annotations

from sphinx.search import zh as chinese_search


class ChineseSearch(chinese_search.SearchChinese):
    """Sphinx's Chinese search index (``jieba``), without its repeated work."""

    def init(self, options: dict) -> None:
        super().init(options)
        self.latin_terms = set()  # the base class shares one list among all instances
        self._stems: dict[str, str] = {}

    def split(self, input: str) -> list[str]:  # noqa: A002 (the base class's name)
        chinese = list(chinese_search.jieba.cut_for_search(input)) if chinese_search.JIEBA else []
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
