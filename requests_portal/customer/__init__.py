"""The customers' pages: sign-in with a one-time code, the disclosure ledger, their own requests."""
