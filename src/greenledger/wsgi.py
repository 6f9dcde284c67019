"""WSGI entry point (gunicorn greenledger.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "greenledger.settings")
application = get_wsgi_application()
