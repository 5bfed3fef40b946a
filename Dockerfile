# Production image: gunicorn serves the app and WhiteNoise its static files; the same image runs the
# Celery worker and beat (see docker-compose.yml). Settings come from the environment (.env.example).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The shared libraries WeasyPrint loads at run time to lay out invoice PDFs, and a font to draw them with.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so that editing the code does not reinstall them. The lock pins every package,
# dependencies included, by hash: the build fails rather than install anything unreviewed.
WORKDIR /app
COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes -r requirements/base.txt

# The code and the collected static files stay owned by root: the app user can read them, not change them.
COPY . .
RUN SECRET_KEY=collectstatic-only-not-a-real-key python manage.py collectstatic --no-input -v 0

RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent app
USER app

EXPOSE 8000
# Three workers suit a small host (about 2 CPUs); a 60 s timeout leaves room for a large PDF. Access and
# error logs go to stdout/stderr, where the container runtime collects them.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60", "--graceful-timeout", "30", "--max-requests", "1000", "--max-requests-jitter", "100", "--access-logfile", "-", "--error-logfile", "-"]
