"""The site's own pages: the library, importing a text, signing up."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from reader.forms import ImportForm, SignupForm
from reader.importing import ImportRefused
from reader.models import Document, Language
from reader.services import document_import

LIBRARY_PAGE_SIZE = 50


@require_GET
def library(request: HttpRequest) -> HttpResponse:
    documents = Document.objects.only(
        "slug", "title", "author", "created_at", "paragraph_count", "word_count"
    )
    page = Paginator(documents, LIBRARY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reader/library.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def document_new(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            doc = document_import(
                source=data["source_text"],
                fmt=data["resolved_format"],
                title=data["title"],
                author=data["author"],
                source_ref=data["source"],
                imported_by=request.user,
                language=data["language"] or Language.ENGLISH,
            )
        except ImportRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, f"Imported “{doc.title}”: {doc.paragraph_count} paragraphs.")
            return redirect(doc)
    status = 400 if form.errors else 200
    return render(
        request,
        "reader/document_new.html",
        {"form": form, "max_megabytes": f"{settings.IMPORT_MAX_BYTES / 1048576:g}"},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    # A path or a URL, never a bare word: redirect() would take "0" for the name of a view.
    if "/" not in next_url or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or reverse("library"))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}.")
        return redirect(next_url or reverse("library"))
    status = 400 if form.errors else 200
    return render(
        request, "registration/signup.html", {"form": form, "next": next_url}, status=status
    )
