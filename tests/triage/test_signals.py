"""Language, sentiment and service signals on their own."""

from relaydesk.triage.policy import ServiceRule
from relaydesk.triage.signals import affected_services, detect_language, score_sentiment

LANGUAGES = ["de", "en", "es", "fr"]


def test_language_is_chosen_among_the_policy_languages_or_left_open():
    assert (
        detect_language("Mon colis n'est jamais arrivé, pouvez-vous m'aider ?", LANGUAGES, 0.5).code == "fr"
    )
    assert detect_language("Where is my parcel? It never arrived.", LANGUAGES, 0.5).code == "en"
    assert detect_language("12345 !!!", LANGUAGES, 0.5).code is None


def test_sentiment_reads_anger_negation_and_thanks():
    angry = score_sentiment("This is UNACCEPTABLE!! I am still waiting, worst service ever")
    assert angry.label == "negative" and angry.score < -0.8 and "still waiting" in angry.words
    assert score_sentiment("Thanks a lot, that was really helpful").label == "positive"
    assert score_sentiment("I am not happy with this").label == "negative"
    assert score_sentiment("Do you ship to Canada?").label == "neutral"


def test_services_match_whole_words_and_phrases_only():
    services = [
        ServiceRule(name="login", keywords=["log in", "2FA"]),
        ServiceRule(name="payments", keywords=["payment"]),
    ]
    assert [s.name for s in affected_services("I can't log-in since the 2fa change", services)] == ["login"]
    assert affected_services("my catalogue inbox", services) == []
    assert [s.name for s in affected_services("Payment failed", services)] == ["payments"]
