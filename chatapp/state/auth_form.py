"""What the log-in and sign-up forms show: field problems and a form-level message.

The forms post straight from the page to the HTTP auth routes (which set the HttpOnly cookie),
so passwords never pass through Reflex state; only the routes' answers come back here.
"""

from __future__ import annotations

from typing import Any

import reflex as rx


class AuthFormState(rx.State):
    username_error: str = ""
    email_error: str = ""
    password_error: str = ""
    message: str = ""
    pending: bool = False

    @rx.event
    def start(self):
        self.username_error = self.email_error = self.password_error = self.message = ""
        self.pending = True

    @rx.event
    def show_result(self, result: Any):
        """Render the route's answer; on success the page is already navigating away."""
        if not isinstance(result, dict) or result.get("ok"):
            return
        self.pending = False
        errors = result.get("errors") or {}
        self.username_error = str(errors.get("username", ""))
        self.email_error = str(errors.get("email", ""))
        self.password_error = str(errors.get("password", ""))
        self.message = str(result.get("message", "Something went wrong. Please try again."))

    @rx.event
    def clear(self):
        self.username_error = self.email_error = self.password_error = self.message = ""
        self.pending = False
