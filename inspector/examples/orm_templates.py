"""ORM and templates: Flask with SQLAlchemy's ORM and Jinja2 templates.

An ORM maps records to objects: ``Book`` and ``Author`` below are classes, and
``book.author`` reads a row of another table when first touched. A template
engine fills one layout (``templates/base.html``) with different data to make
different pages (``books.html`` extends it and includes ``book_row.html`` once
per book). Open the Inside tab to see the SQL each page ran, where it ran from,
and the templates it rendered.

``/`` touches ``book.author`` in the template, one query per book: the "N+1"
the Findings tab warns about. ``/books?fast=1`` asks for the authors up front
(``selectinload``): two queries whatever the number of books. ``/authors``
counts books per author the same slow way; ``/api/books`` answers JSON.
"""

import os

try:
    from flask import Flask, jsonify, render_template, request
    from sqlalchemy import ForeignKey, String, create_engine, select
    from sqlalchemy.orm import (
        DeclarativeBase,
        Mapped,
        Session,
        mapped_column,
        relationship,
        selectinload,
    )
    from sqlalchemy.pool import StaticPool
except ImportError as exc:
    from . import needs

    missing = "SQLAlchemy" if "sqlalchemy" in str(exc) else "Flask"
    raise needs(missing, missing.lower()) from None

app = Flask(__name__, template_folder=os.path.join(os.path.dirname(__file__), "templates"))
# One in-memory database for the whole process (every thread shares its connection).
engine = create_engine("sqlite://", poolclass=StaticPool,
                       connect_args={"check_same_thread": False})


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    books: Mapped[list["Book"]] = relationship(back_populates="author")


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship(back_populates="books")


LIBRARY = {
    "Luciano Ramalho": ["Fluent Python"],
    "Miguel Grinberg": ["Flask Web Development"],
    "Harry Percival": ["Test-Driven Development with Python", "Architecture Patterns"],
    "Al Sweigart": ["Automate the Boring Stuff"],
}


def _fill() -> None:
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for name, titles in LIBRARY.items():
            session.add(Author(name=name, books=[Book(title=t) for t in titles]))
        session.commit()


_fill()


@app.route("/")
@app.route("/books")
def books():
    with Session(engine) as session:
        query = select(Book).order_by(Book.title)
        if request.args.get("fast"):
            query = query.options(selectinload(Book.author))  # the authors in one query
        found = session.scalars(query).all()
        # Rendered while the session is open: book.author loads on first use.
        return render_template("books.html", books=found)


@app.route("/authors")
def authors():
    with Session(engine) as session:
        found = session.scalars(select(Author).order_by(Author.name)).all()
        return render_template("authors.html", authors=found)


@app.route("/api/books")
def api_books():
    with Session(engine) as session:
        found = session.scalars(select(Book).options(selectinload(Book.author))).all()
        return jsonify([{"id": b.id, "title": b.title, "author": b.author.name}
                        for b in found])
