"""Admin: authorities are managed here; orders are read-only (states change through services)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from workflow import audit
from workflow.models import (
    AuditEvent,
    Authority,
    AuthorityContact,
    AuthorityInstrument,
    DisclosureOrder,
    PreservationOrder,
)


class AuthorityInstrumentInline(admin.TabularInline):
    model = AuthorityInstrument
    extra = 1


class AuthorityContactInline(admin.TabularInline):
    model = AuthorityContact
    extra = 1


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_fa", "kind", "jurisdiction", "active")
    list_filter = ("kind", "active")
    search_fields = ("name_en", "name_fa", "jurisdiction")
    inlines = [AuthorityInstrumentInline, AuthorityContactInline]

    def save_model(self, request: HttpRequest, obj: Authority, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Registry changes are configuration changes: audited in the system stream.
        audit.record(
            "config.authority_changed" if change else "config.authority_added",
            actor=request.user,
            obj=f"authority:{obj.pk}",
            data={"fields": sorted(form.changed_data)},
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DisclosureOrder)
class DisclosureOrderAdmin(ReadOnlyAdmin):
    list_display = ("reference", "authority", "instrument", "state", "due_on", "emergency")
    list_filter = ("state", "instrument", "emergency")
    search_fields = ("reference", "authority_reference")
    fields = ("reference", "authority", "instrument", "authority_reference", "state", "due_on", "emergency")


@admin.register(PreservationOrder)
class PreservationOrderAdmin(ReadOnlyAdmin):
    list_display = ("reference", "authority", "state", "hold_expires_on")
    list_filter = ("state",)
    fields = ("reference", "authority", "authority_reference", "state", "hold_expires_on")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("stream", "seq", "occurred_at", "actor", "action")
    list_filter = ("action",)
    search_fields = ("stream", "object_ref")
