// Page helpers that must run in the browser: auth requests that set an HttpOnly cookie.
window.helpdesk = {
  async submitAuth(formId, url) {
    const form = document.getElementById(formId);
    const data = Object.fromEntries(new FormData(form).entries());
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "include",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        window.location.assign(body.next || "/chat");
        return { ok: true };
      }
      return {
        ok: false,
        message: body.message || "Something went wrong. Please try again.",
        errors: body.errors || {},
      };
    } catch (error) {
      return {
        ok: false,
        message: "Cannot reach the server. Check your connection and try again.",
        errors: {},
      };
    }
  },
  async logOut(url) {
    try {
      await fetch(url, { method: "POST", credentials: "include" });
    } finally {
      window.location.assign("/login");
    }
  },
};
