// Enter sends the message, Shift+Enter adds a line (the composer stays uncontrolled).
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (target && target.id === "composer" && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    if (target.value.trim()) target.form.requestSubmit();
  }
});
