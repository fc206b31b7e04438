"""A Flask app the loop tests compose requests for: it answers what it parsed."""

from __future__ import annotations

import hashlib

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/upload")
def upload():  # type: ignore[no-untyped-def]
    files = {name: {"filename": f.filename, "content_type": f.content_type,
                    "sha256": hashlib.sha256(f.read()).hexdigest()}
             for name, f in request.files.items()}
    return jsonify(form=request.form.to_dict(), files=files,
                   lesson=request.headers.get("X-Lesson"))
