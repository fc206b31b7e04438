"""Views: a request in, a response out; the ORM reads rows, a template writes HTML."""

from django.http import JsonResponse
from django.shortcuts import render

from .models import Author, Book


def books(request):
    found = Book.objects.order_by("title")
    if request.GET.get("fast"):
        found = found.select_related("author")  # one JOIN instead of a query per book
    # The template reads book.author: without select_related, one query per book.
    return render(request, "library/books.html", {"books": found})


def authors(request):
    return render(request, "library/authors.html",
                  {"authors": Author.objects.order_by("name")})


def api_books(request):
    found = Book.objects.select_related("author").order_by("id")
    return JsonResponse([{"id": b.id, "title": b.title, "author": b.author.name}
                         for b in found], safe=False)
