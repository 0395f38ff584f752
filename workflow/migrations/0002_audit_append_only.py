"""On PostgreSQL, the audit table refuses UPDATE, DELETE and TRUNCATE (DESIGN §4).

The triggers stop the application and anyone without superuser rights from rewriting
history; what a superuser might still do is caught by the signed checkpoints exported
outside the database.
"""

from django.db import migrations

INSTALL = """
CREATE OR REPLACE FUNCTION workflow_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER workflow_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON workflow_auditevent
    FOR EACH ROW EXECUTE FUNCTION workflow_audit_append_only();
CREATE TRIGGER workflow_auditevent_no_truncate
    BEFORE TRUNCATE ON workflow_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION workflow_audit_append_only();
"""

UNINSTALL = """
DROP TRIGGER IF EXISTS workflow_auditevent_no_update_delete ON workflow_auditevent;
DROP TRIGGER IF EXISTS workflow_auditevent_no_truncate ON workflow_auditevent;
DROP FUNCTION IF EXISTS workflow_audit_append_only();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("workflow", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
