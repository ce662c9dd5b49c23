"""Background jobs of the registry: large exports written to a file with progress."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import QueryDict
from django_tasks import task

from jobs.services import job_running, job_set_result
from registry.exports import FORMATS, export_to_file, exports_dir
from registry.filters import FILTERSETS


@task()
def registry_export_task(job_id: int, user_id: int, dataset: str, query: str, file_format: str) -> None:
    """Export a search to MEDIA_ROOT/exports/, scoped to the user who asked for it."""
    with job_running(job_id) as progress:
        user = get_user_model().objects.get(pk=user_id)
        filterset = FILTERSETS[dataset](QueryDict(query), user=user)
        if not filterset.is_valid():
            raise ValueError(f"The search has errors: {filterset.errors.as_text()}")
        queryset = filterset.qs
        total = queryset.count()  # once, in the worker, for the progress bar
        progress(done=0, total=total, message="Exporting")
        name = f"{dataset}s-{job_id}.{FORMATS[file_format][1]}"
        rows = export_to_file(
            dataset,
            file_format,
            queryset,
            filterset.schema,
            exports_dir() / name,
            on_chunk=lambda done: progress(done=done),
        )
        progress(done=rows, total=rows, message="Ready to download")
        job_set_result(job_id, result={"file": name, "rows": rows, "format": file_format, "dataset": dataset})
