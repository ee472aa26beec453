// CycleDesk: small behaviours on top of server-rendered pages (every page works without them).
(function () {
  "use strict";

  // An error summary at the top of a form takes the focus, so a screen reader reads it and a
  // keyboard user starts from it.
  function focusErrors() {
    var summary = document.getElementById("form-errors");
    if (summary) { summary.focus(); }
  }

  // The undo offer counts down and disappears when it lapses.
  function undoCountdown() {
    var box = document.querySelector("[data-undo-seconds]");
    if (!box) { return; }
    var left = parseInt(box.getAttribute("data-undo-seconds"), 10);
    var out = box.querySelector("[data-undo-left]");
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) { clearInterval(timer); box.remove(); return; }
      if (out) { out.textContent = left; }
    }, 1000);
  }

  // Booking from an empty slot: the slot's form opens in a dialog over the calendar.
  function bookingDialog() {
    var dialog = document.getElementById("book-dialog");
    if (!dialog) { return; }
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "book-dialog-body") {
        if (!dialog.open) { dialog.showModal(); }
        var search = dialog.querySelector("input[type=search]");
        if (search) { search.focus(); }
      }
    });
    dialog.addEventListener("click", function (event) {
      if (event.target.matches("[data-close-dialog]")) { event.preventDefault(); dialog.close(); }
    });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrors();
    undoCountdown();
    bookingDialog();
    printButtons();
  });
})();
