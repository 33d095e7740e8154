from __future__ import annotations

import pytest

from tests.channels.conftest import provider  # noqa: F401  (the local SMS and social providers)

# A tiny labelled history: enough for the real classifier (TF-IDF part only, for speed) to separate
# three categories and abstain on something else.
HISTORY = {
    "shipping_issue": [
        "My parcel never arrived",
        "Where is my package? It has not been delivered",
        "The delivery is two weeks late",
        "Tracking says delivered but I have nothing",
        "My order has not shipped yet",
        "Courier lost my parcel",
        "Package still not here after ten days",
        "The shipment is stuck in transit",
    ],
    "refund_request": [
        "I want my money back",
        "Please refund my purchase",
        "How do I get a refund for this item",
        "I returned the item, where is my refund",
        "Refund has not reached my card",
        "Can I get reimbursed for the order",
        "I was promised a refund last week",
        "Return and refund please",
    ],
    "account_access": [
        "I cannot log in to my account",
        "Password reset email never comes",
        "My account is locked",
        "I forgot my password",
        "Two-factor code does not work",
        "Can't sign in since yesterday",
        "Login page says invalid credentials",
        "Locked out of my account",
    ],
}


def train_model(database, head="category", history=HISTORY, *, activate=True):
    """Train and activate a model for ``head`` through the classification registry."""
    from relaydesk.classification import service as classification
    from relaydesk.classification.classifier import TrainingOptions

    # Version ids restart with each test's clean database: never serve a previous test's model.
    classification.clear_model_cache()
    texts = [t for texts in history.values() for t in texts]
    labels = [label for label, texts in history.items() for _ in texts]
    with database.transaction() as session:
        version = classification.train_version(
            session,
            head,
            texts,
            labels,
            source="test history",
            activate=activate,
            options=TrainingOptions(use_embeddings=False),
        )
        return version.name


@pytest.fixture
def category_model(database):
    return train_model(database)
