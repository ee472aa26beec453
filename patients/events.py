"""What patients/ tells the layers above, as registered hooks (DESIGN.md §3).

Sent by the services inside their transaction (domain events, not model signals).
"""

from django.dispatch import Signal

# patient_id=UUID: a diary period was recorded (by staff or from a patient link).
diary_recorded = Signal()
