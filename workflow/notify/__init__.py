"""Messages to customers and staff over pluggable channels (e-mail, SMS).

E-mail goes through Django's e-mail backend (``EMAIL_BACKEND``: console by default, file, or
SMTP). SMS goes through ``PORTAL_SMS_BACKEND``, a dotted path to an ``SmsBackend``: console and
file for the embedded shape, ``HttpSmsGateway`` for a provider's HTTP API.

Messages carry personal data (a code, an address); they are never logged here.
"""

from .channels import Channel, Message, send

__all__ = ["Channel", "Message", "send"]
