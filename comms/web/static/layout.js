// A table wider than a phone scrolls inside its own box (comms.css); a box that scrolls must
// be reachable from the keyboard too, so it joins the tab order while it is wider than the screen.
(function () {
  function reachable() {
    document.querySelectorAll("main table:not(.stack)").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth) table.setAttribute("tabindex", "0");
      else if (table.getAttribute("tabindex") === "0") table.removeAttribute("tabindex");
    });
  }
  document.addEventListener("DOMContentLoaded", reachable);
  window.addEventListener("resize", reachable);
})();

// On a phone the incident page's header would fill the screen: it scrolls away but for its
// last lines (the updates' state and the sections), which stay at the top (comms.css).
(function () {
  const phone = window.matchMedia("(max-width:799.98px), (max-height:599.98px)");
  function compact() {
    const head = document.getElementById("incident-head");
    if (!head) return;
    head.classList.toggle("compact", phone.matches);
    if (!phone.matches) {
      head.style.top = "";
      document.documentElement.style.scrollPaddingTop = "";
      return;
    }
    const state = head.querySelector(".update-state");
    const above = state.getBoundingClientRect().top - head.getBoundingClientRect().top - 4;
    head.style.top = -Math.max(0, above) + "px";
    document.documentElement.style.scrollPaddingTop = head.offsetHeight - above + 8 + "px";
  }
  document.addEventListener("DOMContentLoaded", function () {
    compact();
    document.querySelectorAll("#incident-head details").forEach(function (d) {
      d.addEventListener("toggle", compact);
    });
  });
  window.addEventListener("resize", compact);
})();
