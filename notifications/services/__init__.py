"""Writes for notifications, by concern: the outbox rows, the queueing job, delivery, inbound SMS."""

from notifications.services.delivery import (
    SEND,
    Verdict,
    VerdictAction,
    deliver_due,
    notification_deliver,
    notifications_deliver_batch,
    send_time_verdict,
)
from notifications.services.inbound import START_WORDS, STOP_WORDS, inbound_sms_receive, keyword_action
from notifications.services.outbox import (
    claim_timeout,
    preferred_channel,
    reminder_rows,
    session_changed,
    sessions_booked,
    slot_offer_accepted,
    slot_offers_made,
)
from notifications.services.queueing import MAX_ATTEMPTS, QueueResult, notifications_queue

__all__ = [
    "MAX_ATTEMPTS",
    "SEND",
    "START_WORDS",
    "STOP_WORDS",
    "QueueResult",
    "Verdict",
    "VerdictAction",
    "claim_timeout",
    "deliver_due",
    "inbound_sms_receive",
    "keyword_action",
    "notification_deliver",
    "notifications_deliver_batch",
    "notifications_queue",
    "preferred_channel",
    "reminder_rows",
    "send_time_verdict",
    "session_changed",
    "sessions_booked",
    "slot_offer_accepted",
    "slot_offers_made",
]
