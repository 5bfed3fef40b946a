"""config.staticfiles: hashed static URLs, each looked up in the manifest once per process."""

import json

import pytest
from whitenoise.storage import CompressedManifestStaticFilesStorage

from config.staticfiles import StaticFilesStorage


@pytest.fixture
def storage(tmp_path):
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": {"css/app.css": "css/app.0123abcd.css"}})
    )
    return StaticFilesStorage(location=tmp_path, base_url="/static/")


def test_urls_are_the_hashed_ones_and_looked_up_once(storage, monkeypatch):
    assert storage.url("css/app.css") == "/static/css/app.0123abcd.css"
    calls = []
    original = CompressedManifestStaticFilesStorage.url
    monkeypatch.setattr(
        CompressedManifestStaticFilesStorage,
        "url",
        lambda self, *a, **k: calls.append(a) or original(self, *a, **k),
    )
    assert storage.url("css/app.css") == "/static/css/app.0123abcd.css"
    assert calls == []


def test_a_file_missing_from_the_manifest_still_fails_every_time(storage):
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("css/missing.css")
