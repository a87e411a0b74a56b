"""Writes of the hotline app, by what they are about: the case file (``cases``), calls with the
queue (``calls``), text conversations (``conversations``), operators' presence and the offers
of calls to them (``presence``), surges of the queue (``surge``) and triage (``triage``).

Every public function takes the acting user, checks permission, changes state atomically and
publishes; other apps import them from here (``from hotline.services import grant_access``)."""

from hotline.events import call_data
from hotline.selectors import CASE_ROLES
from hotline.services.callbacks import record_callback_attempt, take_callback
from hotline.services.callbacks import sweep as sweep_callbacks
from hotline.services.calls import (
    accept_call,
    call_status_changed,
    enter_manual_call,
    hotline_for_webhook,
    identify_caller,
    normalise_number,
    receive_call,
    record_outage_call,
    wrap_up_call,
)
from hotline.services.cases import (
    PERSON_FIELDS,
    SYSTEM,
    advance_case,
    advance_case_if_behind,
    close_case,
    create_person,
    end_access,
    end_lapsed_grants,
    grant_access,
    open_case,
    record_case_read,
    reopen_case,
    set_next_step,
    set_risk,
    update_person,
)
from hotline.services.conversations import (
    end_conversation,
    open_conversation,
    receive_message,
    receive_sms,
    resend_message,
    send_reply,
)
from hotline.services.conversations import sweep as sweep_conversations
from hotline.services.overflow import move_call as overflow_call
from hotline.services.overflow import route_on_arrival
from hotline.services.overflow import sweep as sweep_overflow
from hotline.services.people import clear_flag, may_merge, merge_people, set_flag
from hotline.services.presence import (
    available_operator_ids,
    expire_offers,
    offer_waiting_calls,
    set_presence,
    sign_off_absent_operators,
)
from hotline.services.reads import record_read
from hotline.services.surge import check_surges
from hotline.services.triage import save_triage_draft, triage_call, triage_draft
from hotline.services.wechat import receive_wechat  # registers the WeChat sender too

__all__ = [
    "CASE_ROLES",
    "PERSON_FIELDS",
    "SYSTEM",
    "accept_call",
    "advance_case",
    "advance_case_if_behind",
    "available_operator_ids",
    "call_data",
    "call_status_changed",
    "check_surges",
    "clear_flag",
    "close_case",
    "create_person",
    "end_access",
    "end_conversation",
    "end_lapsed_grants",
    "enter_manual_call",
    "expire_offers",
    "grant_access",
    "hotline_for_webhook",
    "identify_caller",
    "may_merge",
    "merge_people",
    "normalise_number",
    "offer_waiting_calls",
    "open_case",
    "open_conversation",
    "overflow_call",
    "receive_call",
    "receive_message",
    "receive_sms",
    "receive_wechat",
    "record_callback_attempt",
    "record_case_read",
    "record_outage_call",
    "record_read",
    "reopen_case",
    "resend_message",
    "route_on_arrival",
    "save_triage_draft",
    "send_reply",
    "set_flag",
    "set_next_step",
    "set_presence",
    "set_risk",
    "sign_off_absent_operators",
    "sweep_callbacks",
    "sweep_conversations",
    "sweep_overflow",
    "take_callback",
    "triage_call",
    "triage_draft",
    "update_person",
    "wrap_up_call",
]
