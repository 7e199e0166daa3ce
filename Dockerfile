# syntax=docker/dockerfile:1
# Helpdesk in one image, as non-root. Two modes, chosen at run time:
#   SERVE_FRONTEND=true (default): the exported frontend and the backend on one port;
#   SERVE_FRONTEND=false: the backend alone, for a frontend exported to a static host.
# Build: docker build --build-arg API_URL=https://help.example.com -t helpdesk .

FROM node:20-bookworm-slim AS node

# ---- build: Python deps, bun, and the static production frontend ----
FROM python:3.11-slim-bookworm AS build
ARG API_URL=http://localhost:3000
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 REFLEX_USE_SYSTEM_BUN=1 \
    PATH=/opt/venv/bin:$PATH API_URL=$API_URL
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && npm install --global bun@1.4.4
WORKDIR /app
COPY requirements.txt .
RUN python -m venv /opt/venv && pip install -r requirements.txt
COPY . .
# The secret only lets the build import the app; the real one comes at run time.
RUN APP_ENV=development JWT_SECRET=build-only-build-only-build-only-build-only \
    reflex export --frontend-only --no-zip \
 && rm -rf .web/node_modules

# ---- runtime: no compilers, no node, a non-root user ----
FROM python:3.11-slim-bookworm
ARG API_URL=http://localhost:3000
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 APP_PORT=3000 APP_ENV=production \
    API_URL=$API_URL SERVE_FRONTEND=true
RUN groupadd --system --gid 10001 helpdesk \
 && useradd --system --uid 10001 --gid helpdesk --home-dir /app helpdesk
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:10001 /app /app
USER 10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['APP_PORT'] + '/healthz', timeout=4)"]
CMD ["scripts/serve-backend.sh"]
