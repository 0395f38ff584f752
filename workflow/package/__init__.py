"""The disclosure package: content, rendering, building, sealing, verifying (DESIGN §3)."""
