"""Strings shown by Django and libraries that ship no Simplified Chinese for them.

Listing them here (gettext_noop) keeps them in our catalogue, where the zh_Hans translation lives.
"""

from django.utils.translation import gettext_noop

LIBRARY_STRINGS = [
    gettext_noop("- Select an option -"),  # Django 6.1 blank choice
    gettext_noop("create"), gettext_noop("update"), gettext_noop("delete"), gettext_noop("access"),  # auditlog
]
