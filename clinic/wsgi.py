import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
application = get_wsgi_application()
# What setting up Django made (about 100,000 objects) lives as long as the worker: frozen, the cyclic
# collector's full collections stop scanning it again and again. Unfrozen, one took about 45 ms, landing in
# one slot search in twenty, its p95 (bench/slots.py; issue 16).
gc.freeze()
