"""Advanced search pages inside the admin: filters, results, saved searches and exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jobs.models import Job, JobState
from jobs.services import job_start
from registry.exports import FORMATS, export_response, export_size, exports_dir, sync_export_limit
from registry.filters import FILTERSETS
from registry.searches import (
    SavedSearchForm,
    saved_search_delete,
    saved_search_list,
    saved_search_save,
    search_columns_get,
    search_columns_save,
    search_query,
)
from registry.selectors import match_count
from registry.tables import PAGE_SIZES, page_size, results_table, table_column_choices
from registry.tasks import registry_export_task

DATASETS = {
    "individual": {"title": "Individuals", "model": "individual", "url": "admin:registry_search"},
    "household": {"title": "Households", "model": "household", "url": "admin:registry_search_households"},
}


def _check_dataset(request: HttpRequest, dataset: str) -> None:
    if dataset not in DATASETS:
        raise Http404("Unknown dataset")
    if not request.user.has_perm(f"registry.view_{DATASETS[dataset]['model']}"):
        raise PermissionDenied


def _render_search(
    request: HttpRequest,
    dataset: str,
    data: QueryDict,
    save_form: SavedSearchForm | None = None,
    status: int = 200,
) -> TemplateResponse:
    filterset = FILTERSETS[dataset](data, user=request.user)
    columns = search_columns_get(user=request.user, dataset=dataset)
    table = matches = None
    if filterset.is_valid():
        table = results_table(request, dataset, filterset.qs, filterset.schema, columns=columns)
        matches = match_count(filterset.qs)
    query = search_query(data)
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": f"Advanced search: {DATASETS[dataset]['title'].lower()}",
        "dataset": dataset,
        "datasets": DATASETS,
        "filterset": filterset,
        "table": table,
        "matches": matches,
        "column_choices": [
            (name, header, not columns or name in columns)
            for name, header in table_column_choices(dataset, filterset.schema)
        ],
        "query": query,
        "page_sizes": PAGE_SIZES,
        "page_size": page_size(request),
        "saved_searches": saved_search_list(user=request.user, dataset=dataset),
        "save_form": save_form or SavedSearchForm(),
        "export_formats": list(FORMATS),
        "sync_export_limit": sync_export_limit("csv"),
        "sync_export_limit_xlsx": sync_export_limit("xlsx"),
        "search_url": reverse(DATASETS[dataset]["url"]),
        "changelist_url": reverse(f"admin:registry_{DATASETS[dataset]['model']}_changelist"),
    }
    return TemplateResponse(request, "registry/search.html", context, status=status)


@require_GET
def search_view(request: HttpRequest, dataset: str = "individual") -> TemplateResponse:
    _check_dataset(request, dataset)
    return _render_search(request, dataset, request.GET)


@require_POST
def saved_search_create_view(request: HttpRequest, dataset: str) -> HttpResponse:
    _check_dataset(request, dataset)
    query = request.POST.get("query", "")
    form = SavedSearchForm(request.POST)
    if form.is_valid():
        try:
            saved = saved_search_save(
                user=request.user, name=form.cleaned_data["name"], dataset=dataset, query=query
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("name", message)
        else:
            messages.success(request, f"Search “{saved.name}” saved.")
            return HttpResponseRedirect(f"{reverse(DATASETS[dataset]['url'])}?{saved.query}")
    return _render_search(request, dataset, QueryDict(query), save_form=form, status=400)


@require_POST
def saved_search_delete_view(request: HttpRequest, dataset: str, saved_search_id: int) -> HttpResponse:
    _check_dataset(request, dataset)
    if not saved_search_delete(user=request.user, saved_search_id=saved_search_id):
        raise Http404("No such saved search of yours")
    messages.success(request, "Saved search deleted.")
    return HttpResponseRedirect(reverse(DATASETS[dataset]["url"]))


@require_POST
def search_columns_view(request: HttpRequest, dataset: str) -> HttpResponse:
    """Remember the columns the user chose for this dataset's results, then show the search again."""
    _check_dataset(request, dataset)
    query = request.POST.get("query", "")
    available = [
        name
        for name, _header in table_column_choices(
            dataset, FILTERSETS[dataset](None, user=request.user).schema
        )
    ]
    try:
        search_columns_save(
            user=request.user, dataset=dataset, columns=request.POST.getlist("columns"), available=available
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Your columns are saved."))
    return HttpResponseRedirect(f"{reverse(DATASETS[dataset]['url'])}?{search_query(QueryDict(query))}")


@require_GET
def export_view(request: HttpRequest, dataset: str, file_format: str) -> HttpResponse:
    """Download now, or, when the result is large or a background run is asked for, start a job."""
    _check_dataset(request, dataset)
    if file_format not in FORMATS:
        raise Http404("Unknown format")
    filterset = FILTERSETS[dataset](request.GET, user=request.user)
    if not filterset.is_valid():
        messages.error(request, "The search has errors: correct them before exporting.")
        return _render_search(request, dataset, request.GET, status=400)
    limit = sync_export_limit(file_format)
    if request.GET.get("background") or export_size(filterset.qs, limit) > limit:
        job = job_start(
            task=registry_export_task,
            label=f"Export of {DATASETS[dataset]['title'].lower()} ({file_format.upper()})",
            user=request.user,
            args=(request.user.pk, dataset, search_query(request.GET), file_format),
        )
        return HttpResponseRedirect(reverse("admin:registry_export_job", args=[job.pk]))
    return export_response(dataset, file_format, filterset.qs, filterset.schema)


def _own_export_job(request: HttpRequest, job_id: int) -> Job:
    kind = f"{registry_export_task.func.__module__}.{registry_export_task.func.__name__}"
    return get_object_or_404(Job, pk=job_id, kind=kind, created_by=request.user)


@require_GET
def export_job_view(request: HttpRequest, job_id: int) -> TemplateResponse:
    job = _own_export_job(request, job_id)
    context = {
        **admin.site.each_context(request),
        "title": job.label,
        "job": job,
        "download_url": reverse("admin:registry_export_download", args=[job.pk])
        if job.state == JobState.SUCCEEDED
        else "",
    }
    return TemplateResponse(request, "registry/search_export_job.html", context)


@require_GET
def export_download_view(request: HttpRequest, job_id: int) -> FileResponse:
    """The job's file, for the person who started the job only (never through MEDIA_URL)."""
    job = _own_export_job(request, job_id)
    name = str(job.result.get("file", ""))
    if job.state != JobState.SUCCEEDED or not name or Path(name).name != name:
        raise Http404("No file for this job")
    path = exports_dir() / name
    if not path.is_file():
        raise Http404("The file is gone")
    content_type = FORMATS.get(str(job.result.get("format")), FORMATS["csv"])[0]
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type=content_type)


def search_app_list_entries(request: HttpRequest) -> list[dict[str, Any]]:
    """Sidebar entries for the advanced search, shaped like the admin's model entries."""
    entries = []
    for info in DATASETS.values():
        if request.user.has_perm(f"registry.view_{info['model']}"):
            entries.append(
                {
                    "name": f"Advanced search: {info['title'].lower()}",
                    "object_name": f"Search{info['model'].title()}",
                    "admin_url": reverse(info["url"]),
                    "add_url": None,
                    "view_only": True,
                    "perms": {"view": True},
                }
            )
    return entries
