"""Which language a build makes, and the language switch on every page.

Each page gets a switch in the article header that leads to the same page in each other
language. The links are relative, so the site works from ``file://`` and from any server
path; each page also names its other versions in ``<link rel="alternate" hreflang=...>``.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SWITCH_TEMPLATE = "course-language-switch.html"
#: The source language: the English site at the root of the output.
SOURCE_LANGUAGE = "en"
SOURCE_LABEL = {"label": "English", "title": "Read this page in English"}


def html_lang(code: str) -> str:
    """The BCP 47 tag of a Sphinx language code: ``zh_CN`` -> ``zh-CN``."""
    return code.replace("_", "-")


def translation_of(config) -> str | None:
    """The translation this build makes (``zh_CN``), or None for the English source."""
    language = getattr(config, "language", None) or SOURCE_LANGUAGE
    return language if language in (config.course_translations or {}) else None


def site_root(pagename: str, translation: str | None) -> str:
    """The relative path from a page to the root of the English site ("" or "../..")."""
    depth = pagename.count("/") + (1 if translation else 0)
    return "../" * depth


def language_links(
    pagename: str, target_uri: str, translation: str | None, translations: dict
) -> list[dict[str, str]]:
    """The links of one page's language switch: one per *other* language.

    Args:
        pagename: the Sphinx page name (``chapters/01_background``).
        target_uri: the page's file relative to the root of its own build
            (``chapters/01_background.html``).
        translation: the language of the page, None for English.
        translations: ``course_translations`` from the configuration.

    Returns:
        ``[{"code", "lang", "label", "title", "href"}]``, in the order English, then the
        translations as configured; ``href`` is relative to the page.
    """
    root = site_root(pagename, translation)
    links = []
    if translation is not None:
        links.append({"code": SOURCE_LANGUAGE, "href": f"{root}{target_uri}", **SOURCE_LABEL})
    for code, settings in translations.items():
        if code == translation:
            continue
        links.append(
            {
                "code": code,
                "href": f"{root}{code}/{target_uri}",
                "label": settings.get("label", code),
                "title": settings.get("switch_title", settings.get("label", code)),
            }
        )
    for link in links:
        link["lang"] = html_lang(link["code"])
    return links


def add_language_switch(app, pagename, templatename, context, doctree) -> None:
    """``html-page-context``: the switch's links, and the page's alternates."""
    translation = translation_of(app.config)
    links = language_links(
        pagename,
        app.builder.get_target_uri(pagename),
        translation,
        app.config.course_translations or {},
    )
    context["course_language_links"] = links
    alternates = "".join(
        f'<link rel="alternate" hreflang="{link["lang"]}" href="{link["href"]}" />\n'
        for link in links
    )
    context["metatags"] = context.get("metatags", "") + alternates


def add_switch_to_header(config) -> None:
    """Put the switch, a theme component, in the article header before the buttons."""
    config.templates_path.append(str(TEMPLATES))
    options = config.html_theme_options
    header_end = options.get("article_header_end", "article-header-buttons.html")
    if isinstance(header_end, str):
        header_end = [item.strip() for item in header_end.split(",") if item.strip()]
    if SWITCH_TEMPLATE not in header_end:
        options["article_header_end"] = [SWITCH_TEMPLATE, *header_end]
