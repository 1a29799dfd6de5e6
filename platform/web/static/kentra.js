// Kentra's one script, loaded by every page (the CSP allows scripts from this site only).
// A refused form: move the focus to the error summary, so that a screen reader reads what
// went wrong first and the keyboard starts from its links to the fields.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
});
