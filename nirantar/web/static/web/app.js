/* Nirantar screens: keyboard-first behaviour. No inline scripts (CSP forbids them). */
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function focusSearch() {
    var q = $("#q");
    if (q) { q.focus(); q.select(); }
  }

  function openNewPatient() {
    var template = $("#new-patient-template");
    var panel = $("#panel");
    if (template && panel && window.htmx) {
      panel.innerHTML = "";
      panel.appendChild(template.content.cloneNode(true));
      window.htmx.process(panel);
      var first = $("#name_en", panel);
      if (first) { first.focus(); }
      return;
    }
    var button = $("#new-patient");
    if (button) { button.click(); }
  }

  var printWhenLoaded = false;
  var openWhenFound = false;

  function printSlip() {
    var frame = $("#slip-frame");
    if (!frame) { return; }
    if (!frame.hasAttribute("data-loaded")) { printWhenLoaded = true; return; }
    try {
      frame.contentWindow.focus();
      frame.contentWindow.print();
    } catch (e) {
      var link = $("#slip-link");
      if (link) { window.open(link.href, "_blank", "noopener"); }
    }
  }

  function nextPatient() {
    var panel = $("#panel");
    if (panel && $("#token-panel")) {
      panel.innerHTML = "";
    }
    var results = $("#results");
    if (results) { results.innerHTML = ""; }
    var q = $("#q");
    if (q) { q.value = ""; }
    focusSearch();
  }

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    // Alt+letter: the page's accesskey for that letter, also where the browser leaves
    // accesskeys to the page. Only boxes (focus) and same-window links (go), which are
    // harmless if the browser acts on the accesskey as well.
    if (event.altKey && !event.ctrlKey && event.key && event.key.length === 1) {
      var keyed = $('[accesskey="' + event.key.toLowerCase() + '"]');
      if (keyed && (keyed.tagName === "INPUT" || keyed.tagName === "SELECT")) {
        event.preventDefault(); keyed.focus(); if (keyed.select) { keyed.select(); } return;
      }
      if (keyed && keyed.tagName === "A" && !keyed.target) {
        event.preventDefault(); window.location.href = keyed.href; return;
      }
    }
    if (event.key === "F2") { event.preventDefault(); openNewPatient(); return; }
    // The doctor's desk: F4 calls the next token; Esc goes back to the queue.
    if (event.key === "F4" && $("#call-next")) { event.preventDefault(); $("#call-next").click(); return; }
    if (event.key === "Escape" && $("#consult-panel") && !typing(target)) {
      event.preventDefault(); var first = $("#queue button"); if (first) { first.focus(); } return;
    }
    if (event.key === "F3") { event.preventDefault(); focusSearch(); return; }
    if (event.key === "/" && !typing(target)) { event.preventDefault(); focusSearch(); return; }
    if (event.key === "Escape") {
      if ($("#token-panel")) { event.preventDefault(); nextPatient(); return; }
      if (target && target.id !== "q") { focusSearch(); return; }
    }
    if ((event.key === "p" || event.key === "P") && !typing(target) && $("#token-panel")) {
      event.preventDefault(); printSlip(); return;
    }

    // Search box: arrow down into the results; Enter opens the first one. (Billing's
    // UHID box is #q too, for F3 and Esc, but is a plain form: Enter submits it.)
    if (target && target.id === "q" && $("#search-form")) {
      var first = $("#results .result");
      if (event.key === "ArrowDown" && first) { event.preventDefault(); first.focus(); return; }
      if (event.key === "Enter" && !event.isComposing) {
        event.preventDefault();
        // Open the first result only if it answers what is in the box now; otherwise
        // search at once and open the first result when it arrives.
        var shown = $("#results [data-query]");
        if (first && shown && shown.getAttribute("data-query") === target.value) {
          first.click();
        } else if (window.htmx) {
          openWhenFound = true;
          window.htmx.trigger("#search-form", "submit");
        }
        return;
      }
    }
    // Likely existing patients under the new-patient form: F8 goes to the first.
    if (event.key === "F8" && $("#likely .result")) { event.preventDefault(); $("#likely .result").focus(); return; }
    // Result list: arrows move, Enter (native button) opens.
    if (target && target.classList && target.classList.contains("result")) {
      var items = $all(target.closest("#likely") ? "#likely .result" : "#results .result");
      var i = items.indexOf(target);
      if (event.key === "ArrowDown" && i < items.length - 1) { event.preventDefault(); items[i + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); if (i > 0) { items[i - 1].focus(); } else { focusSearch(); } }
      return;
    }
    // A counting grid (data-enter-next): Enter goes to the next box, as on a calculator,
    // and never submits by accident; Ctrl+Enter submits.
    var grid = target && target.closest ? target.closest("form[data-enter-next]") : null;
    if (grid && event.key === "Enter" && !event.isComposing && target.tagName === "INPUT") {
      event.preventDefault();
      if (event.ctrlKey) { grid.requestSubmit(); return; }
      var boxes = $all("input:not([type=hidden]):not([disabled])", grid);
      var at = boxes.indexOf(target);
      var next = boxes[at + 1] || $("button.primary", grid);
      if (next) { next.focus(); if (next.select) { next.select(); } }
      return;
    }
    // Forms marked data-enter-submits: Enter on a select submits; Ctrl+Enter anywhere submits.
    var form = target && target.closest ? target.closest("form[data-enter-submits]") : null;
    if (form && event.key === "Enter" && !event.isComposing) {
      var ctrlOnly = form.getAttribute("data-enter-submits") === "ctrl";
      if (event.ctrlKey || (target.tagName === "SELECT" && !ctrlOnly)) {
        event.preventDefault();
        // A form htmx swapped in is given its handlers when the swap settles (20 ms
        // later, more on a busy machine): before that, a quick Enter submitted it
        // natively, a GET with the CSRF token in the address. Process it now (htmx
        // skips a form it has processed already).
        if (window.htmx && form.matches("[hx-post], [hx-get]")) { window.htmx.process(form); }
        form.requestSubmit();
      }
    }
  });

  // On a page that comes back with a mistake, the cursor goes to the first field to fix;
  // otherwise to an element marked data-focus (the receipt just issued, to print it).
  document.addEventListener("DOMContentLoaded", function () {
    var cue = $(".field.invalid input:not([type=hidden]), .field.invalid select") || $("[data-focus]");
    if (cue) { cue.focus(); }
  });

  // Suggestions from the other script: one click (or Enter on the chip) fills the field.
  document.addEventListener("click", function (event) {
    // A search result opens the patient in the panel. The request is the panel's, not
    // the button's: a search answer arriving meanwhile replaces the results, and htmx
    // drops the response of a request whose element has left the page.
    var result = event.target.closest ? event.target.closest("[data-open]") : null;
    if (result && window.htmx) {
      window.htmx.ajax("GET", result.getAttribute("data-open"), { target: "#panel", source: "#panel" });
      return;
    }
    var chip = event.target.closest ? event.target.closest("[data-fill]") : null;
    if (chip) {
      var field = document.getElementById(chip.getAttribute("data-fill"));
      if (field) { field.value = chip.getAttribute("data-value"); field.focus(); }
      chip.remove();
      return;
    }
    if (event.target.closest && event.target.closest("#print-slip")) { printSlip(); return; }
    if (event.target.closest && event.target.closest("#next-patient")) { nextPatient(); return; }
    if (event.target.closest && event.target.closest("[data-new-patient]")) { event.preventDefault(); openNewPatient(); }
  });

  // The slip frame says when its PDF has arrived, so "Print" prints a whole slip.
  document.addEventListener("load", function (event) {
    if (event.target && event.target.id === "slip-frame") {
      event.target.setAttribute("data-loaded", "1");
      var button = $("#print-slip");
      if (button) { button.classList.add("ready"); }
      if (printWhenLoaded) { printWhenLoaded = false; printSlip(); }
    }
  }, true);

  // After htmx swaps a panel in, put the cursor where the clerk's next keystroke belongs.
  document.addEventListener("htmx:afterSwap", function (event) {
    var swapped = event.detail && event.detail.target;
    if (swapped && swapped.id === "results" && openWhenFound) {
      var shown = $("#results [data-query]");
      var q = $("#q");
      var first = $("#results .result");
      if (shown && q && shown.getAttribute("data-query") === q.value) {
        openWhenFound = false;
        if (first) { first.click(); }
      }
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = event.detail && event.detail.target;
    if (panel && panel.id === "consult") {
      // Whatever the desk did (a call, a closed visit) shows in the queue at once.
      if (window.htmx) { window.htmx.trigger(document.body, "queue-changed"); }
      return;
    }
    if (!panel || panel.id !== "panel") { return; }
    var next = $(".invalid input, .invalid select", panel) || $("[autofocus]", panel);
    if (next) { next.focus(); }
  });
  // After the desk's panel settles (htmx has applied autofocus by then), a field the
  // doctor must fix takes the cursor.
  document.addEventListener("htmx:afterSettle", function (event) {
    var panel = event.detail && event.detail.target;
    if (!panel || panel.id !== "consult") { return; }
    var cue = $(".invalid input, .invalid select, .invalid textarea", panel);
    if (cue) { cue.focus(); }
  });
  // A "Print" button (the MIS dashboard): no inline handler, CSP forbids them.
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-print]");
    if (button) { event.preventDefault(); window.print(); }
  });
})();
