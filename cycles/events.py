"""What cycles tells the layer above (the outbox), as registered hooks.

Cycles sends; notifications connects receivers in its AppConfig.ready(), as it does
for scheduling's session events. Sent by the services inside their transaction.
"""

from django.dispatch import Signal

# offers=[SlotOffer, ...] (patient, course and freed_slot.session.location loaded), now=datetime:
# new offers of freed slots, each to be told to its patient.
slots_offered = Signal()
# offer=SlotOffer, session=the Session the accept booked, moved_from=the later Session it replaced or None.
slot_offer_accepted = Signal()
