// Posts the log-in or sign-up form as JSON from the page (the route sets the HttpOnly cookie),
// then goes where the route says, or hands its answer to Python (`on_result`) to show. The
// password never passes through Reflex state.
export function AuthForm({ url, children, onStart, onResult, ...props }) {
  const submit = async (event) => {
    event.preventDefault();
    onStart?.();
    const data = Object.fromEntries(new FormData(event.currentTarget).entries());
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "include",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        window.location.assign(body.next || "/chat");
        return;
      }
      onResult?.({ ok: false, errors: body.errors || {},
        message: body.message || "Something went wrong. Please try again." });
    } catch {
      onResult?.({ ok: false, errors: {},
        message: "Cannot reach the server. Check your connection and try again." });
    }
  };
  // method="post": a submit before the page runs would be the browser's own, never a GET that
  // puts the password in the address bar.
  return <form method="post" noValidate onSubmit={submit} {...props}>{children}</form>;
}
