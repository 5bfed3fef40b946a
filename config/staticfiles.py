"""WhiteNoise's compressed, hashed static files, with each file's URL worked out once per process.

The manifest does not change while a process runs (collectstatic writes it before the app starts), yet
ManifestFilesMixin.url() cleans, looks up, splits and joins on every {% static %}; the dashboard shell
has five of them, and they cost about 0.3 ms of the invoice list. A name missing from the manifest
still raises every time, as before.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force)
        if name not in self._urls:
            self._urls[name] = super().url(name)
        return self._urls[name]
