// 资料管理: live progress of background re-index jobs, and the upload size check before a long upload.
(function () {
  "use strict";

  function poll(item) {
    var id = item.getAttribute("data-job");
    var bar = item.querySelector("progress");
    var state = item.querySelector(".job-state");
    var message = item.querySelector(".job-message");
    function tick() {
      fetch("/console/documents/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          bar.value = job.percent;
          bar.textContent = job.percent + "%";
          state.textContent = job.state_label;
          message.textContent = job.message;
          item.setAttribute("data-state", job.state);
          if (job.state === "queued" || job.state === "running") { setTimeout(tick, 700); }
        })
        .catch(function () { setTimeout(tick, 3000); });
    }
    tick();
  }

  document.querySelectorAll(".job").forEach(function (item) {
    var s = item.getAttribute("data-state");
    if (s === "queued" || s === "running") { poll(item); }
  });

  var form = document.querySelector(".upload-form");
  if (form) {
    var input = form.querySelector("input[type=file]");
    var warning = form.querySelector(".upload-size-error");
    var max = parseInt(form.getAttribute("data-max-bytes"), 10);
    var check = function () {
      var file = input.files && input.files[0];
      var tooBig = file && file.size > max;
      warning.hidden = !tooBig;
      if (tooBig) {
        warning.textContent = "文件大小 " + (file.size / 1048576).toFixed(1) + " MB，超过上限 " +
          form.getAttribute("data-max-mb") + " MB，请压缩或拆分后再上传。";
      }
      return !tooBig;
    };
    input.addEventListener("change", check);
    form.addEventListener("submit", function (event) { if (!check()) { event.preventDefault(); } });
  }
})();
