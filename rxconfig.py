"""Reflex build and server configuration; app settings live in chatapp/config.py."""

import shutil
from pathlib import Path

import reflex as rx

from chatapp.config import get_settings

settings = get_settings()

config = rx.Config(
    app_name="chatapp",
    telemetry_enabled=False,
    bun_path=Path(shutil.which("bun") or "/usr/bin/bun"),
    api_url=settings.api_url,
    deploy_url=settings.frontend_origins[0],
    cors_allowed_origins=list(settings.frontend_origins),
    trusted_proxy_hops=settings.trusted_proxy_hops,
    redis_url=settings.redis_url or None,  # several workers share tab state through Redis
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.SitemapPlugin(),
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="large")),
    ],
)
