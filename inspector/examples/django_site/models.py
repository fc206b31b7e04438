"""The ORM: each class is a table, each instance a row."""

from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=80)

    def __str__(self):
        return self.name


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, related_name="books", on_delete=models.CASCADE)

    def __str__(self):
        return self.title
