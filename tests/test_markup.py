"""core.markup: outside text stays text in Prefect markdown and HTML."""

from __future__ import annotations

from markdown_it import MarkdownIt

from core.markup import escape_html, escape_markdown, escape_markdown_block, markdown_link

RENDER = MarkdownIt("commonmark", {"html": True}).enable("table")


def test_markdown_payloads_render_as_their_own_text() -> None:
    for payload in (
        "![x](http://evil/x.png)",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "<http://evil>",
        "**bold** _it_ `code` ~~gone~~ | cell",
        "# heading",
        "1. a list",
    ):
        rendered = RENDER.render(escape_markdown(payload))
        assert "<img" not in rendered and "<a " not in rendered and "<h1" not in rendered
        assert "<strong" not in rendered and "<code" not in rendered and "<ol" not in rendered
        text = rendered.removeprefix("<p>").removesuffix("</p>\n")
        assert text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') == payload


def test_bare_urls_and_addresses_are_not_left_for_an_autolinker() -> None:
    escaped = escape_markdown("see http://evil, www.evil.example and a@evil.example")
    assert "http://" not in escaped and "www." not in escaped and "@" not in escaped


def test_a_block_keeps_its_lines_under_the_prefix() -> None:
    assert escape_markdown_block("one\n\n# two", prefix="> ") == "> one\n>\n> \\# two"


def test_links_only_to_the_boards_own_addresses() -> None:
    own = ["https://portal.board.example", "https://workspace.board.example/"]
    assert markdown_link("open", "https://portal.board.example/t/abc", own) == (
        "[open](<https://portal.board.example/t/abc>)"
    )
    assert markdown_link("open", "https://portal.board.example.evil/t", own) == "open"
    assert markdown_link("[x]", "javascript:alert(1)", own) == "\\[x\\]"


def test_html_escaping_covers_attributes() -> None:
    assert (
        escape_html("<a href=\"x\" title='y'>&")
        == "&lt;a href=&quot;x&quot; title=&#x27;y&#x27;&gt;&amp;"
    )
