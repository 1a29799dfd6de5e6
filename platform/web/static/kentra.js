// Kentra's one script, loaded by every page (the CSP allows scripts from this site only).
// Every page works without it; it only makes two things easier.

// A refused form: move the focus to the error summary, so that a screen reader reads what
// went wrong first and the keyboard starts from its links to the fields.
function focusErrorSummary() {
  var summary = document.querySelector(".error-summary");
  if (!summary) return;
  if (!summary.hasAttribute("tabindex")) summary.setAttribute("tabindex", "-1");
  summary.focus();
}

// A long multiple choice (<select multiple data-searchable>): Tom Select, from the platform's
// own copy (make web-assets), turns it into a list to type in, with a button to remove each
// choice. Loaded only on the pages that have one; if it is missing, the select stays as is.
function enhanceSearchable() {
  var selects = document.querySelectorAll("select[data-searchable]");
  if (!selects.length) return;
  var style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = "/static/vendor/tom-select.css";
  document.head.appendChild(style);
  var script = document.createElement("script");
  script.src = "/static/vendor/tom-select.js";
  script.onload = function () {
    selects.forEach(function (select) {
      new TomSelect(select, {
        plugins: ["remove_button"],
        maxOptions: null,
        // A chosen option stays listed (marked chosen): the list's active option never
        // points at an element that went away.
        hideSelected: false,
        placeholder: select.dataset.placeholder || "",
        render: {
          // Each region a named group of the listbox (ARIA: a listbox holds options and
          // groups of options); its heading is for the eye only.
          optgroup: function (data) {
            var group = document.createElement("div");
            group.className = "optgroup";
            group.setAttribute("role", "group");
            group.setAttribute("aria-label", data.label || "");
            group.appendChild(data.options);
            return group;
          },
          optgroup_header: function (data, escape) {
            return '<div class="optgroup-header" aria-hidden="true">' + escape(data.label || "") + "</div>";
          },
          no_results: function () {
            return '<div class="no-results">' + (select.dataset.noResults || "") + "</div>";
          },
        },
      });
      var hint = document.getElementById(select.id + "-hint");
      if (hint && select.dataset.searchHint) hint.textContent = select.dataset.searchHint;
    });
  };
  document.head.appendChild(script);
  // The error summary links to the select, now hidden: send the focus to its search box.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".error-summary a[href^='#']");
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (target && target.tomselect) {
      event.preventDefault();
      target.tomselect.focus();
    }
  });
}

document.addEventListener("DOMContentLoaded", function () {
  focusErrorSummary();
  enhanceSearchable();
});
