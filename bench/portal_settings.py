"""Settings of the portal benchmark: the product's own, with the hello view routed beside it."""

from requests_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.portal_site"
