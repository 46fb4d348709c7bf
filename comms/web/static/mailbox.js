// The demo mailbox's message page: the e-mail's frame takes the height of the e-mail, so the
// whole message reads in one scroll. The frame runs no script; this page measures it.
(function () {
  function fit(frame) {
    var page = frame.contentDocument && frame.contentDocument.documentElement;
    if (page) frame.style.height = page.scrollHeight + 2 + "px";
  }
  document.querySelectorAll("iframe.fit-content").forEach(function (frame) {
    frame.addEventListener("load", function () { fit(frame); });
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit(frame);
    window.addEventListener("resize", function () { fit(frame); });
  });
})();
