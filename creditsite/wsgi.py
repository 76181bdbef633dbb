"""WSGI entry point (gunicorn creditsite.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditsite.settings")
application = get_wsgi_application()
