"""Gate policy pages: rule sets and their matrix (with Excel round trip), gate settings, alert levels.

Rule sets are shared by every site (a site picks one on its settings page); editing them needs the
policy permissions of the environmental manager. An edit reaches the gates within two seconds
(``gate.rules`` caches a set's rows that long).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from greenledger.core import permissions
from greenledger.core.excel import SheetError, read_sheet, workbook_response

from . import alerts, rules, rulesets
from .codes import Decision
from .models import AlertSource, GateSettings, Rule, RuleSet
from .policy_forms import LIST_FIELDS, AlertSwitchForm, GateSettingsForm, MatrixImportForm, RuleForm, RuleSetForm


def guard(perm):
    def wrap(view):
        return login_required(permission_required(perm, raise_exception=True)(view))
    return wrap


def _need(request, perm):
    if not request.user.has_perm(perm):
        raise PermissionDenied


# ---------------------------------------------------------------- rule sets


@guard("gate.view_ruleset")
def rule_sets(request):
    in_force = dict(GateSettings.objects.filter(site__in=permissions.user_sites(request.user))
                    .values_list("rule_set_id", "site__name"))
    sets = RuleSet.objects.all()
    form = RuleSetForm(request.POST or None)
    if request.method == "POST":
        _need(request, "gate.add_ruleset")
        if form.is_valid():
            created = form.save()
            messages.success(request, _("Rule set %(name)s created.") % {"name": created.name})
            return redirect("gate:ruleset_detail", pk=created.pk)
    return render(request, "gate/policy/rulesets.html", {
        "sets": [(s, in_force.get(s.pk), rulesets.is_default(s)) for s in sets], "form": form,
        "can_edit": request.user.has_perm("gate.add_ruleset")})


@require_POST
@guard("gate.change_ruleset")
def reload_defaults(request):
    written = rulesets.load_defaults()
    for rule_set in written:
        rules.forget_rules(rule_set.pk)
    messages.success(request, _("Default rule sets loaded again: %(count)d.") % {"count": len(written)})
    return redirect("gate:rulesets")


@guard("gate.view_ruleset")
def rule_set_detail(request, pk):
    rule_set = get_object_or_404(RuleSet, pk=pk)
    rows = list(rule_set.rules.order_by("priority", "id"))
    if request.GET.get("export") == "xlsx":
        return workbook_response(f"rules-{rule_set.pk}", rule_set.name, [str(t) for t, _f in matrix_columns()],
                                 (matrix_row(rule) for rule in rows))
    form = RuleSetForm(request.POST or None, instance=rule_set)
    if request.method == "POST":
        _need(request, "gate.change_ruleset")
        if form.is_valid():
            form.save()
            messages.success(request, _("Rule set saved."))
            return redirect("gate:ruleset_detail", pk=rule_set.pk)
    return render(request, "gate/policy/ruleset_detail.html", {
        "rule_set": rule_set, "rows": [(rule, describe_rule(rule)) for rule in rows], "form": form,
        "import_form": MatrixImportForm(), "can_edit": request.user.has_perm("gate.change_rule")})


@guard("gate.add_rule")
def rule_edit(request, set_pk, pk=None):
    rule_set = get_object_or_404(RuleSet, pk=set_pk)
    rule = get_object_or_404(Rule, pk=pk, rule_set=rule_set) if pk else Rule(rule_set=rule_set)
    if pk:
        _need(request, "gate.change_rule")
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        form.save()
        rules.forget_rules(rule_set.pk)
        messages.success(request, _("Rule saved."))
        return redirect("gate:ruleset_detail", pk=rule_set.pk)
    return render(request, "gate/policy/rule_form.html", {"form": form, "rule_set": rule_set, "rule": rule})


@require_POST
@guard("gate.delete_rule")
def rule_delete(request, set_pk, pk):
    rule = get_object_or_404(Rule, pk=pk, rule_set_id=set_pk)
    rule.delete()
    rules.forget_rules(set_pk)
    messages.success(request, _("Rule deleted."))
    return redirect("gate:ruleset_detail", pk=set_pk)


@require_POST
@guard("gate.change_rule")
def rule_set_import(request, pk):
    """Replace the rule set's rows with the sheet's (nothing changes unless every row is valid)."""
    rule_set = get_object_or_404(RuleSet, pk=pk)
    form = MatrixImportForm(request.POST, request.FILES)
    problems = []
    if form.is_valid():
        try:
            new_rules = parse_matrix(form.cleaned_data["file"], rule_set)
        except SheetError as exc:
            problems = exc.problems
        else:
            with transaction.atomic():
                rule_set.rules.all().delete()
                for rule in new_rules:
                    rule.save()
            rules.forget_rules(rule_set.pk)
            messages.success(request, _("%(count)d rules imported.") % {"count": len(new_rules)})
            return redirect("gate:ruleset_detail", pk=rule_set.pk)
    else:
        problems = [(0, "", _("Choose an .xlsx file."))]
    rows = list(rule_set.rules.order_by("priority", "id"))
    return render(request, "gate/policy/ruleset_detail.html", {
        "rule_set": rule_set, "rows": [(rule, describe_rule(rule)) for rule in rows],
        "form": RuleSetForm(instance=rule_set), "import_form": form, "problems": problems, "can_edit": True},
        status=422)


# ---------------------------------------------------------------- the matrix as a sheet


def matrix_columns():
    return [(_("priority"), "priority"), (_("performance grades"), "grades"), (_("alert levels"), "alert_levels"),
            (_("vehicle classes"), "vehicle_classes"), (_("fuels"), "fuels"), (_("emission stages"), "stages"),
            (_("stage or below"), "stage_max"), (_("directions"), "directions"),
            (_("special vehicles only"), "special_purpose"), (_("hazardous goods vehicles only"), "hazmat"),
            (_("cargo contains"), "cargo_keywords"), (_("action"), "action"), (_("reason shown"), "reason")]


def matrix_row(rule):
    """Codes, comma-separated, so the sheet can be edited and imported back."""
    def value(name):
        v = getattr(rule, name)
        if isinstance(v, list):
            return ",".join(v)
        if v is None:
            return ""
        if isinstance(v, bool):
            return "yes" if v else "no"
        return v
    return [value(name) for _t, name in matrix_columns()]


def parse_matrix(uploaded, rule_set):
    columns = {name: [str(title), name] for title, name in matrix_columns()}
    problems, result = [], []
    for number, values in read_sheet(uploaded, columns):
        rule, row_problems = _rule_from(values, rule_set)
        problems += [(number, field, message) for field, message in row_problems]
        result.append(rule)
    if problems:
        raise SheetError(problems)
    return result


def _rule_from(values, rule_set):
    problems = []
    data = {}
    for name, choices in LIST_FIELDS.items():
        codes = [c.strip() for c in str(values.get(name) or "").replace("，", ",").split(",") if c.strip()]
        wrong = [c for c in codes if c not in choices.values]
        if wrong:
            problems.append((name, _("Unknown codes: %(codes)s") % {"codes": ", ".join(wrong)}))
        data[name] = codes
    for name in ("special_purpose", "hazmat"):
        text = str(values.get(name) or "").strip().lower()
        data[name] = {"": None, "yes": True, "是": True, "no": False, "否": False}.get(text, "bad")
        if data[name] == "bad":
            problems.append((name, _("Use yes, no or leave empty.")))
            data[name] = None
    data["stage_max"] = str(values.get("stage_max") or "").strip()
    data["action"] = str(values.get("action") or "").strip()
    if data["action"] not in Decision.values:
        problems.append(("action", _("Use pass, block or manual.")))
    data["reason"] = str(values.get("reason") or "").strip()
    data["cargo_keywords"] = str(values.get("cargo_keywords") or "").strip()
    try:
        data["priority"] = int(values.get("priority") or 100)
    except (TypeError, ValueError):
        problems.append(("priority", _("A whole number.")))
        data["priority"] = 100
    rule = Rule(rule_set=rule_set, **data)
    if not problems:
        try:
            rule.full_clean(exclude=["rule_set"])
        except ValidationError as exc:
            problems += [(field, " ".join(messages_)) for field, messages_ in exc.message_dict.items()]
    return rule, problems


def describe_rule(rule):
    """The row's conditions in words, for the table."""
    parts = []
    for name, choices in LIST_FIELDS.items():
        codes = getattr(rule, name)
        if codes:
            parts.append(" / ".join(str(choices(c).label) if c in choices.values else c for c in codes))
    if rule.stage_max:
        parts.append(_("%(stage)s or below") % {"stage": rule.get_stage_max_display()})
    for name, label in (("special_purpose", _("special vehicles")), ("hazmat", _("hazardous goods vehicles"))):
        flag = getattr(rule, name)
        if flag is not None:
            parts.append(label if flag else _("not %(what)s") % {"what": label})
    if rule.cargo_keywords:
        parts.append(_("cargo: %(words)s") % {"words": rule.cargo_keywords})
    return "; ".join(parts) or _("any vehicle")


# ---------------------------------------------------------------- settings and alerts


def _chosen_site(request):
    sites = permissions.user_sites(request.user)
    code = request.GET.get("site") or request.POST.get("site")
    site = sites.filter(code=code).first() if code else sites.order_by("code").first()
    if site is None:
        raise PermissionDenied
    return site, sites


@guard("gate.view_gatesettings")
def gate_settings(request):
    site, sites = _chosen_site(request)
    current = GateSettings.objects.filter(site=site).first() or GateSettings(site=site)
    form = GateSettingsForm(request.POST or None, instance=current)
    if request.method == "POST":
        _need(request, "gate.change_gatesettings")
        if form.is_valid():
            form.save()
            rules.forget_site(site.pk)
            messages.success(request, _("Gate settings of %(site)s saved.") % {"site": site.name})
            return redirect(f"{request.path}?site={site.code}")
    return render(request, "gate/policy/settings.html", {"form": form, "site": site, "sites": sites})


@guard("gate.view_alertperiod")
def alert_page(request):
    site, sites = _chosen_site(request)
    form = AlertSwitchForm(request.POST or None)
    if request.method == "POST":
        _need(request, "gate.add_alertperiod")
        if form.is_valid():
            data = form.cleaned_data
            try:
                alerts.switch_alert(site, data["level"], starts_at=data["starts_at"] or timezone.now(),
                                    ends_at=data["ends_at"], reason=data["reason"], measures_text=data["measures_text"],
                                    source=AlertSource.MANUAL, user=request.user, regulator_ref=data["regulator_ref"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Alert level switched."))
                return redirect(f"{request.path}?site={site.code}")
    period = alerts.period_at(site)
    level = period.level if period else "none"
    return render(request, "gate/policy/alerts.html", {
        "site": site, "sites": sites, "period": period, "level": level,
        "level_label": period.get_level_display() if period else _("No alert"),
        "colour": alerts.LEVEL_COLOURS.get(level), "history": alerts.history(site), "form": form,
        "can_switch": request.user.has_perm("gate.add_alertperiod")})
