"""The evidence log page: size, latest signed checkpoint, what is sealed, and a record lookup."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from greenledger.evidence import keys, services


@permission_required("evidence.view_leaf", raise_exception=True)
def overview(request):
    table, record_id = request.GET.get("table", "").strip().lower(), request.GET.get("id", "").strip()
    found = services.find_leaf(table, record_id) if table and record_id else None
    return render(
        request,
        "evidence/overview.html",
        {
            "title": _("Evidence log"),
            "summary": services.log_summary(),
            "key_id": keys.key_id(),
            "lookup": {"table": table, "id": record_id, "leaf": found, "searched": bool(table and record_id)},
        },
    )


@require_POST
@permission_required("evidence.add_checkpoint", raise_exception=True)
def checkpoint(request):
    signed, created = services.take_checkpoint()
    if created:
        messages.success(request, _("Checkpoint signed at tree size %(size)s.") % {"size": signed.tree_size})
    else:
        messages.info(request, _("The log has not grown since the latest checkpoint."))
    return redirect("evidence:overview")
