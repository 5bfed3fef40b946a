// Card entry in the processor's own fields, so no card number ever reaches this app (SAQ A).
// Stripe: Stripe.js's Card Element confirms the page's SetupIntent in the browser (3-D Secure
// included). The sandbox: its own fields, whose number is turned here into the SHA-256 of a known
// test number; anything else is refused before it leaves the page. Either way the form sends only an
// opaque reference in `method_reference`.
(function () {
  "use strict";

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function input(box, id, label, attrs) {
    var wrapper = document.createElement("div");
    wrapper.className = "field";
    var text = document.createElement("label");
    text.htmlFor = id;
    text.textContent = label;
    var field = document.createElement("input");
    field.id = id;
    field.type = "text";
    Object.keys(attrs).forEach(function (name) { field.setAttribute(name, attrs[name]); });
    wrapper.append(text, field);  // no `name`: the form never sends what is typed here
    box.appendChild(wrapper);
    return field;
  }

  function sandbox(box) {
    var mount = box.querySelector(".card-element");
    var number = input(mount, "card-entry-number", "Card number", {autocomplete: "cc-number", inputmode: "numeric"});
    var expiry = input(mount, "card-entry-expiry", "Expiry (MM/YY)", {autocomplete: "cc-exp", inputmode: "numeric", placeholder: "MM/YY"});
    input(mount, "card-entry-cvc", "CVC", {autocomplete: "cc-csc", inputmode: "numeric", maxlength: "4"});
    var known = (box.dataset.testDigests || "").split(" ");
    return async function () {
      var digits = number.value.replace(/[\s-]/g, "");
      var match = /^(\d{1,2})\s*\/\s*(\d{2}|\d{4})$/.exec(expiry.value.trim());
      if (!/^\d{12,19}$/.test(digits)) { throw new Error("Enter the card number."); }
      if (!match) { throw new Error("Enter the expiry as MM/YY, like 04/27."); }
      if (!window.crypto || !crypto.subtle) { throw new Error("Card entry needs a secure (https) page."); }
      var digest = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(digits)));
      if (known.indexOf(digest) < 0) {
        throw new Error("This is test mode: use a test card such as 4242 4242 4242 4242. Real cards are refused.");
      }
      var year = match[2].length === 2 ? "20" + match[2] : match[2];
      return "card:" + digest + ":" + parseInt(match[1], 10) + ":" + year;
    };
  }

  function stripe(box, form) {
    var options = box.dataset.account ? {stripeAccount: box.dataset.account} : undefined;
    var client = Stripe(box.dataset.publishableKey, options);
    var card = client.elements().create("card");
    card.mount(box.querySelector(".card-element"));
    return async function () {
      var name = form.querySelector("[name=name]");
      var result = await client.confirmCardSetup(box.dataset.clientSecret, {
        payment_method: {card: card, billing_details: {name: name ? name.value : ""}},
      });
      if (result.error) { throw new Error(result.error.message || "The card was not saved. Try again."); }
      return result.setupIntent.id;
    };
  }

  function setUp(box) {
    var form = box.closest("form");
    var reference = form.querySelector("input[name=method_reference]");
    var error = box.querySelector(".card-entry-error");
    var collect = box.dataset.processor === "stripe" ? stripe(box, form) : sandbox(box);
    window.addEventListener("submit", function (event) {
      if (event.target !== form || reference.value) { return; }  // collected: it goes, app.js shows it busy
      event.preventDefault();
      event.stopImmediatePropagation();
      var submitter = event.submitter;
      error.hidden = true;
      collect().then(function (value) {
        reference.value = value;
        // A task of its own: Chromium ignores a submit requested while the first is still settling.
        setTimeout(function () { form.requestSubmit(submitter || undefined); }, 0);
      }).catch(function (problem) {
        error.textContent = problem.message;
        error.hidden = false;
      });
    }, true);  // on window, capturing: before app.js (on document) marks the form as submitting
  }

  document.querySelectorAll(".card-entry").forEach(setUp);
})();
