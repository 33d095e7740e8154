"""Decoding behaviours of parse_email: charsets, headers, bodies and attachments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from relaydesk.channels.email import EmailLimits, ParsedEmail, parse_email

Parse = Callable[[str], ParsedEmail]


def test_iso_2022_jp_body_subject_and_name_decode_to_japanese(parse_corpus: Parse) -> None:
    parsed = parse_corpus("iso2022jp.eml")
    assert parsed.subject == "注文について"
    assert parsed.from_name == "山田太郎"
    assert "注文番号123の件です" in parsed.text


def test_shift_jis_body_decodes_to_japanese(parse_corpus: Parse) -> None:
    parsed = parse_corpus("shift_jis.eml")
    assert parsed.subject == "返品希望"
    assert parsed.text == "商品が壊れていました。返品できますか？"  # noqa: RUF001


def test_utf7_body_decodes(parse_corpus: Parse) -> None:
    assert parse_corpus("utf7.eml").text == "Prix: 10€ — café"


def test_latin1_body_mislabelled_as_utf8_falls_back_to_latin(parse_corpus: Parse) -> None:
    parsed = parse_corpus("latin1_mislabelled_utf8.eml")
    assert "pas arrivé" in parsed.text
    assert parsed.subject == "Problème de livraison"


def test_unknown_charset_name_falls_back_to_utf8(parse_corpus: Parse) -> None:
    assert parse_corpus("unknown_charset.eml").text == "Hello café world"


def test_eight_bit_utf8_headers_decode(parse_corpus: Parse) -> None:
    parsed = parse_corpus("eight_bit_headers.eml")
    assert parsed.from_name == "Jürgen Müller"
    assert parsed.subject == "Grüße und Frage"


def test_folded_rfc2047_words_join_without_spaces(parse_corpus: Parse) -> None:
    parsed = parse_corpus("rfc2047_subject.eml")
    assert parsed.subject == "Question sur la facture €"
    assert parsed.from_name == "Renée Dupont"


def test_invalid_base64_is_decoded_leniently(parse_corpus: Parse) -> None:
    parsed = parse_corpus("invalid_base64.eml")
    assert parsed.full_text.startswith("Hello world")
    assert parsed.attachments[0].payload.startswith(b"%PDF")


def test_missing_message_id_gets_stable_generated_id(parse_corpus: Parse) -> None:
    first = parse_corpus("missing_date_msgid_subject.eml")
    second = parse_corpus("missing_date_msgid_subject.eml")
    assert first.message_id_generated
    assert first.message_id == second.message_id
    assert first.subject == "" and first.date is None


def test_sender_header_stands_in_for_missing_from(parse_corpus: Parse) -> None:
    assert parse_corpus("missing_from_with_sender.eml").from_address == "helpdesk-relay@example.com"


def test_addresses_are_lower_cased_and_date_is_utc(parse_corpus: Parse) -> None:
    parsed = parse_corpus("plain_simple.eml")
    assert parsed.from_address == "ann@example.com"
    assert parsed.from_name == "Ann Customer"
    assert parsed.to[0].address == "support@acme.test"
    assert parsed.date == datetime(2025, 3, 3, 9, 15, tzinfo=UTC)


def test_threading_headers_are_extracted(parse_corpus: Parse) -> None:
    parsed = parse_corpus("outlook_quoted_reply.eml")
    assert parsed.in_reply_to == "<rabc.123@acme.test>"
    assert parsed.references == ("<first@acme.test>", "<rabc.123@acme.test>")


def test_html_only_mail_gets_plain_text_and_sanitised_html(parse_corpus: Parse) -> None:
    parsed = parse_corpus("html_only.eml")
    assert parsed.html is not None
    assert "<script" not in parsed.html and "onclick" not in parsed.html and "onerror" not in parsed.html
    assert "javascript:" not in parsed.html
    assert parsed.text.startswith("Where is my invoice?")
    assert "https://shop.example.org/o/77" in parsed.text


def test_multipart_alternative_prefers_plain_text_and_keeps_html(parse_corpus: Parse) -> None:
    parsed = parse_corpus("multipart_alternative.eml")
    assert parsed.text == "Please refund order 991."
    assert parsed.html is not None
    assert parsed.html.strip() == "<p>Please refund order <b>991</b>.</p>"


def test_nested_message_is_one_attachment_and_filenames_lose_paths(parse_corpus: Parse) -> None:
    parsed = parse_corpus("nested_rfc822_attachments.eml")
    assert parsed.text == "See the forwarded mail below."
    kinds = [(attachment.filename, attachment.content_type) for attachment in parsed.attachments]
    assert kinds == [("forwarded-message.eml", "message/rfc822"), ("passwd.csv", "text/csv")]
    assert b"Contract attached." in parsed.attachments[0].payload


def test_inline_image_keeps_content_id_and_inline_flag(parse_corpus: Parse) -> None:
    parsed = parse_corpus("inline_image.eml")
    (image,) = parsed.attachments
    assert (image.content_id, image.inline, image.content_type) == ("shot1@example.com", True, "image/png")
    assert image.payload.startswith(b"\x89PNG") and image.size == len(image.payload)
    assert parsed.html is not None and 'src="cid:shot1@example.com"' in parsed.html


def test_unknown_parts_become_attachments(parse_corpus: Parse) -> None:
    types = [attachment.content_type for attachment in parse_corpus("tnef_unknown_part.eml").attachments]
    assert types == ["application/ms-tnef", "application/x-totally-unknown"]


def test_nul_bytes_are_removed_from_text(parse_corpus: Parse) -> None:
    parsed = parse_corpus("nul_bytes.eml")
    assert parsed.text == "Body with  NUL  bytes."


def test_mbox_envelope_line_is_skipped(parse_corpus: Parse) -> None:
    parsed = parse_corpus("raw_mbox_from_line.eml")
    assert (parsed.from_address, parsed.subject) == ("vic@example.com", "mbox envelope")


def test_malformed_date_becomes_none() -> None:
    raw = b"From: a@example.com\r\nDate: yesterday-ish\r\nSubject: x\r\n\r\nbody\r\n"
    assert parse_email(raw, limits=EmailLimits()).date is None


def test_encoded_display_name_with_comma_stays_one_mailbox() -> None:
    raw = (
        b'From: =?utf-8?B?RG9lLCBKYW5l?= <Jane@Example.com>\r\nTo: "A, B" <a@b.example>, c@d.example\r\n\r\nx'
    )
    parsed = parse_email(raw, limits=EmailLimits())
    assert (parsed.from_name, parsed.from_address) == ("Doe, Jane", "jane@example.com")
    assert [mailbox.address for mailbox in parsed.to] == ["a@b.example", "c@d.example"]


def test_empty_plain_alternative_falls_back_to_html_text() -> None:
    raw = (
        b"From: a@example.com\r\nContent-Type: multipart/alternative; boundary=q\r\n\r\n"
        b"--q\r\nContent-Type: text/plain\r\n\r\n\r\n"
        b"--q\r\nContent-Type: text/html\r\n\r\n<p>Real text</p>\r\n--q--\r\n"
    )
    assert parse_email(raw, limits=EmailLimits()).text == "Real text"


def test_message_id_without_angle_brackets_is_kept() -> None:
    raw = b"From: a@example.com\r\nMessage-ID: abc123@mailer.example\r\n\r\nbody\r\n"
    parsed = parse_email(raw, limits=EmailLimits())
    assert (parsed.message_id, parsed.message_id_generated) == ("<abc123@mailer.example>", False)
