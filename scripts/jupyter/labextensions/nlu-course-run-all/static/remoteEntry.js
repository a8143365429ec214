// nlu-course: one JupyterLab front-end plugin, the notebook's cell executor.
//
// Why: when a cell tagged raises-exception raises during Run All, JupyterLab 4 (with any kernel, ipykernel too)
// treats the error reply as "the run stopped" and resets every queued cell's prompt from [*] to [ ] - while the
// kernel, told stop_on_error=false, goes on running them. The student sees blank prompts and believes Run All
// stopped. This executor runs each cell exactly as JupyterLab's own (`runCell` from @jupyterlab/notebook) and
// only turns the expected error of a raises-exception cell into "done, not successful", so queued cells keep [*].
// Any other error still stops Run All as before. JupyterLab's own executor plugin is switched off in
// page_config.json (installed by scripts/setup.sh); if this file failed to load, JupyterLab falls back to its
// default execution, i.e. stock behaviour.
//
// Format: JupyterLab loads prebuilt extensions as webpack module-federation containers: a global
// _JUPYTERLAB[name] with init(shareScope) and get(module). This one is written by hand (no build step): it takes
// @jupyterlab/notebook from the share scope, so the token and runCell are the application's own.
var _JUPYTERLAB;
(function () {
  "use strict";
  var NAME = "nlu-course-run-all";
  var scope = null;

  function shared(pkg) {
    var versions = scope && scope[pkg];
    var keys = versions ? Object.keys(versions) : [];
    if (keys.length === 0) return Promise.reject(new Error(NAME + ": " + pkg + " is not in JupyterLab's share scope"));
    var loaded = keys.filter(function (k) { return versions[k].loaded; });
    var entry = versions[(loaded.length ? loaded : keys)[0]];
    return Promise.resolve(entry.get()).then(function (factory) { return factory(); });
  }

  function isExpectedError(cell, reason) {
    var tags = (cell && cell.model && cell.model.getMetadata && cell.model.getMetadata("tags")) || [];
    return tags.indexOf("raises-exception") >= 0 && reason && /^KernelReplyNotOK/.test(String(reason.message));
  }

  function plugin(notebook) {
    return {
      id: NAME + ":cell-executor",
      description: "Runs notebook cells as JupyterLab does; an expected error (raises-exception) does not clear queued prompts.",
      autoStart: true,
      provides: notebook.INotebookCellExecutor,
      activate: function () {
        return Object.freeze({
          runCell: function (options) {
            return notebook.runCell(options).catch(function (reason) {
              if (isExpectedError(options.cell, reason)) return false;
              throw reason;
            });
          },
        });
      },
    };
  }

  _JUPYTERLAB = _JUPYTERLAB || {};
  _JUPYTERLAB[NAME] = {
    init: function (shareScope) {
      scope = shareScope;
    },
    get: function (module) {
      if (module !== "./extension" && module !== "./index") {
        return Promise.reject(new Error("Module " + module + " does not exist in container " + NAME + "."));
      }
      return shared("@jupyterlab/notebook").then(function (notebook) {
        var exports = { __esModule: true, default: [plugin(notebook)] };
        return function () { return exports; };
      });
    },
  };
})();
