"""What operators rely on: a lint-clean non-root Dockerfile and an .env.example naming every key."""

from __future__ import annotations

import re
import subprocess

from chatapp.config import Settings
from tests.servers import ROOT, VENV_BIN


def test_dockerfile_is_clean_under_hadolint():
    result = subprocess.run([str(VENV_BIN / "hadolint"), "Dockerfile"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_as_a_non_root_user():
    users = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert users and users[-1] not in {"root", "0"}


def test_secrets_and_local_state_stay_out_of_git_and_images():
    for ignore in (".gitignore", ".dockerignore"):
        entries = (ROOT / ignore).read_text().split()
        for private in (".env", "data/", ".web/", ".venv/"):
            assert private in entries, f"{private} missing from {ignore}"


def test_env_example_documents_every_setting_key():
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    source = (ROOT / "chatapp" / "config.py").read_text()
    read = set(re.findall(r'"([A-Z][A-Z_]+)"', source)) - {"REFLEX_ENV_MODE"}
    assert read <= documented, f"undocumented keys: {sorted(read - documented)}"
    assert {"MONGODB_URI", "OPEN_ROUTER", "OPENROUTER_MODELS", "OPENROUTER_BASE_URL",
            "JWT_SECRET", "API_URL"} <= documented


def test_env_example_is_valid_for_development():
    values = dict(re.findall(r"^([A-Z_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))
    settings = Settings.from_env(values)
    assert settings.app_port == 3000 and settings.max_message_chars == 4000
