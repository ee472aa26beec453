// Live total of the units typed per muscle group; the sites follow at 5 U per site
// until someone edits the sites field by hand.
(function () {
  "use strict";
  const UNITS_PER_SITE = 5;
  function start() {
    const form = document.getElementById("treatment-form");
    if (!form) return;
    const inputs = Array.from(form.querySelectorAll("input[data-units]"));
    const total = document.getElementById("total-units");
    const sites = form.querySelector("input[name=sites]");
    let sitesTouched = false;
    if (sites) sites.addEventListener("input", () => { sitesTouched = true; });
    function update() {
      const sum = inputs.reduce((acc, el) => acc + (parseInt(el.value, 10) || 0), 0);
      if (total) total.textContent = String(sum);
      if (sites && !sitesTouched) sites.value = String(Math.floor(sum / UNITS_PER_SITE));
    }
    inputs.forEach((el) => el.addEventListener("input", update));
    update();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
