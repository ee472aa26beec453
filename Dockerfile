FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
# Front-end assets (htmx, Chart.js) come from npm at build time, never from a CDN.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Under production settings, so the manifest the production storage reads is written.
RUN CYCLEDESK_PRODUCTION=1 DJANGO_SECRET_KEY=build-only-not-a-runtime-key python manage.py collectstatic --noinput
RUN useradd --create-home cycledesk && mkdir -p /app/var && chown -R cycledesk /app/var
USER cycledesk
EXPOSE 8000
# The same as docker-compose.yml's web command (its comment says why sync × 5; tests/test_compose.py).
CMD ["gunicorn", "clinic.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "sync", "--workers", "5", "--access-logfile", "-", "--logger-class", "clinic.access_log.GunicornLogger"]
