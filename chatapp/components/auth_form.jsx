// Posts the log-in or sign-up form as JSON from the page (the route sets the HttpOnly cookie),
// then goes where the route says, or hands its answer to Python (`on_result`) to show. The
// password never passes through Reflex state.
// In the website widget (`widget`), the route is told so (it sets the widget's partitioned
// cookie) and the page keeps its address's query (the embedding site) when it moves on.
export function AuthForm({ url, widget, children, onStart, onResult, ...props }) {
  const submit = async (event) => {
    event.preventDefault();
    onStart?.();
    const data = Object.fromEntries(new FormData(event.currentTarget).entries());
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "include",
        headers: { "Content-Type": "application/json", ...(widget ? { "X-Helpdesk-Widget": "1" } : {}) },
        body: JSON.stringify(data),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        window.location.assign((body.next || "/chat") + (widget ? window.location.search : ""));
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
