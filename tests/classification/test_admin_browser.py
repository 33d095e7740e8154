"""The model registry page in real Chromium: an admin promotes a candidate and rolls it back."""

from __future__ import annotations

import pytest

from relaydesk.auth.roles import Role
from relaydesk.classification import service
from relaydesk.classification.classifier import TrainingOptions
from tests.browser_fixtures import sign_in
from tests.classification.conftest import read_rows
from tests.factories import PASSWORD, make_agent

pytestmark = pytest.mark.browser


def test_admin_promotes_and_rolls_back_from_the_models_page(page, live_server, database, clinc_slice):
    service.clear_model_cache()
    texts, labels = read_rows(clinc_slice[0])
    with database.transaction() as session:
        for activate in (True, False):
            service.train_version(
                session, "category", texts, labels, source="test", abstain_label="oos", activate=activate,
                options=TrainingOptions(use_embeddings=False, folds=3),
            )  # fmt: skip
    admin = make_agent(database, Role.ADMIN)
    sign_in(page, live_server, "/admin/models", admin.email, PASSWORD)
    page.wait_for_url(f"{live_server}/admin/models")

    def state(name: str) -> str | None:
        return page.get_by_test_id(f"version-{name}").get_attribute("data-state")

    assert (state("category-1"), state("category-2")) == ("active", "candidate")
    page.get_by_test_id("promote-category-2").click()
    page.wait_for_selector('[data-testid="version-category-2"][data-state="active"]')
    assert state("category-1") == "retired"
    page.get_by_test_id("rollback-category").click()
    page.wait_for_selector('[data-testid="version-category-1"][data-state="active"]')
    assert state("category-2") == "rolled_back"
    with database.transaction() as session:
        assert service.predict(session, "category", "set a timer").model_version == "category-1"
