// Forms that came back with errors: move the focus to the list of errors, so a screen reader
// reads it at once and a keyboard user starts from it; each link in it then puts the focus on
// its field (a plain link to an input scrolls to it but leaves the focus where it was).
// Served from this site (the Content-Security-Policy forbids inline scripts).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary, .problem");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
  }
  document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      var field = target.matches("input, select, textarea") ? target
        : target.querySelector("input, select, textarea");
      if (!field) return;
      event.preventDefault();
      var label = document.querySelector("label[for='" + field.id + "']");
      (target.closest("fieldset") || label || field).scrollIntoView();
      field.focus({ preventScroll: true });
    });
  });
});
