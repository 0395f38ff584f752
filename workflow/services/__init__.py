"""One function per user action. Views, tasks, the admin and commands call these; nothing
else changes a state or writes an audit event."""
