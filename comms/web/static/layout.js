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
