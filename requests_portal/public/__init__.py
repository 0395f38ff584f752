"""Pages anyone may open without signing in: verifying a package someone holds."""
