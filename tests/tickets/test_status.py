import pytest

from relaydesk.tickets.enums import TicketStatus as S
from relaydesk.tickets.status import ALLOWED_TRANSITIONS, IllegalStatusTransitionError, check_transition


def test_every_status_has_a_rule():
    assert set(ALLOWED_TRANSITIONS) == set(S)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.NEW, S.BOT),
        (S.BOT, S.QUEUED),
        (S.QUEUED, S.OPEN),
        (S.OPEN, S.PENDING_CUSTOMER),
        (S.PENDING_CUSTOMER, S.OPEN),
        (S.OPEN, S.RESOLVED),
        (S.RESOLVED, S.REOPENED),
        (S.REOPENED, S.OPEN),
        (S.RESOLVED, S.CLOSED),
        (S.BOT, S.RESOLVED),
    ],
)
def test_legal_moves_pass(current, target):
    check_transition(current, target)


def test_closed_is_final_and_says_what_to_do():
    with pytest.raises(IllegalStatusTransitionError, match="follow-up"):
        check_transition(S.CLOSED, S.REOPENED)


def test_illegal_move_lists_the_allowed_ones():
    with pytest.raises(IllegalStatusTransitionError) as info:
        check_transition(S.OPEN, S.NEW)
    assert info.value.status_code == 409
    assert "pending_customer" in info.value.details["allowed"]


def test_moving_to_the_same_status_is_rejected():
    with pytest.raises(IllegalStatusTransitionError, match="already"):
        check_transition(S.OPEN, S.OPEN)
