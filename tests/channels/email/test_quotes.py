"""Quote and signature stripping keeps the sender's new text and nothing it is unsure about."""

from __future__ import annotations

from collections.abc import Callable

from relaydesk.channels.email import ParsedEmail, strip_quotes_and_signature

Parse = Callable[[str], ParsedEmail]


def test_gmail_wrapped_attribution_and_quote_are_stripped(parse_corpus: Parse) -> None:
    parsed = parse_corpus("gmail_quoted_reply.eml")
    assert parsed.text == "The reset link worked, thank you!"
    assert "Please try the reset link again." in parsed.full_text


def test_outlook_header_block_is_stripped(parse_corpus: Parse) -> None:
    assert parse_corpus("outlook_quoted_reply.eml").text == "The VPN still drops every hour.\n\nNick"


def test_original_message_separator_is_stripped(parse_corpus: Parse) -> None:
    assert parse_corpus("outlook_original_message.eml").text == "Please cancel it."


def test_german_attribution_and_mobile_footer_are_stripped(parse_corpus: Parse) -> None:
    assert (
        parse_corpus("german_quoted_reply.eml").text == "Die Lieferung ist angekommen.\n\nViele Grüße\nQuirin"
    )


def test_french_attribution_and_signature_are_stripped(parse_corpus: Parse) -> None:
    assert parse_corpus("french_quoted_reply.eml").text == "Merci, c'est réglé."


def test_sent_from_my_iphone_line_is_stripped(parse_corpus: Parse) -> None:
    assert parse_corpus("signature_and_mobile.eml").text == "Can you extend my trial by a week?"


def test_html_blockquote_reply_is_stripped_from_text() -> None:
    text = "Thanks!\nOn Mon, Mar 3, 2025 Support <s@acme.test> wrote:\n> old question"
    assert strip_quotes_and_signature(text) == "Thanks!"


def test_interleaved_quotes_are_kept() -> None:
    text = "> Which browser?\nFirefox 128.\n> Which OS?\nLinux."
    assert strip_quotes_and_signature(text) == text


def test_far_away_dash_dash_line_is_not_a_signature() -> None:
    body = "\n".join(["Steps:", "--", *[f"step {number}" for number in range(20)]])
    assert strip_quotes_and_signature(body) == body


def test_message_that_is_only_a_quote_keeps_everything() -> None:
    text = "On Mon, 3 Mar 2025, Support wrote:\n> your order shipped"
    assert strip_quotes_and_signature(text) == text


def test_sentence_starting_with_on_is_not_an_attribution() -> None:
    text = "On Monday the app crashed twice.\nIt wrote: error 500 in the log."
    assert strip_quotes_and_signature(text) == text
