// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // A <select data-autosubmit> submits its form on change (the partner switcher).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.requestSubmit();
    }
  });

  // On a phone the side navigation folds behind the "Menu" button (without this file it shows, wrapped).
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".menu-toggle");
    if (!toggle) { return; }
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("is-open", open);
  });

  // A button with data-copy="<input id>" copies that input's value (the one-time pay link).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) { return; }
    var input = document.getElementById(button.dataset.copy);
    var done = function () { button.textContent = button.dataset.copiedLabel || "Copied"; };
    input.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // The portal's "Pay selected": the button shows the ticked total, and asks before charging several.
  function payTotal(form) {
    var ticked = form.querySelectorAll("input[name=invoices]:checked");
    var minor = 0;
    ticked.forEach(function (box) { minor += parseInt(box.dataset.amountMinor, 10) || 0; });
    var exponent = parseInt(form.dataset.exponent, 10) || 0;
    var amount = new Intl.NumberFormat("en-US", {
      style: "currency", currency: form.dataset.currency, minimumFractionDigits: exponent
    }).format(minor / Math.pow(10, exponent));
    var button = form.querySelector("[data-pay-button]");
    var method = form.querySelector("select[name=method]");
    var methodName = method && method.selectedOptions[0] ? method.selectedOptions[0].textContent : "";
    if (!button) { return; }
    if (!ticked.length) {
      button.textContent = button.dataset.noneLabel;
    } else {
      button.textContent = "Pay " + amount + (ticked.length > 1 ? " for " + ticked.length + " invoices" : "");
    }
    if (ticked.length > 1) {
      button.dataset.confirm = "Charge " + ticked.length + " invoices, " + amount + " in total, to " + methodName + "?";
    } else {
      delete button.dataset.confirm;
    }
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-pay-several]");
    if (form) { payTotal(form); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-pay-several]").forEach(payTotal);
  });

  // A submit button with data-confirm asks first (htmx buttons use hx-confirm instead).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // While a form is submitting, its button says what is happening and a second submit is ignored.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitting) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    form.dataset.submitting = "1";
    var button = event.submitter || form.querySelector("[data-busy-label]");
    if (button && button.dataset.busyLabel) {
      button.dataset.idleLabel = button.textContent;
      button.textContent = button.dataset.busyLabel;
      button.setAttribute("aria-disabled", "true");
      button.classList.add("is-busy");
    }
  }, true);

  // htmx forms stay on the page, so they are released when their request ends.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (!form) { return; }
    delete form.dataset.submitting;
    form.querySelectorAll("[data-idle-label]").forEach(function (button) {
      button.textContent = button.dataset.idleLabel;
      button.removeAttribute("aria-disabled");
      button.classList.remove("is-busy");
      delete button.dataset.idleLabel;
    });
  });
})();
