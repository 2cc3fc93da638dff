/* govflow: draw a case's BPMN diagram with bpmn-js and mark done and current steps.
   The container carries data-diagram-url, data-done and data-current (space-separated BPMN ids). */
(function () {
  'use strict';

  function ids(value) {
    return (value || '').split(/\s+/).filter(Boolean);
  }

  function mark(viewer, list, marker) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    list.forEach(function (id) {
      if (registry.get(id)) {
        canvas.addMarker(id, marker);
      }
    });
  }

  function show(container) {
    var status = container.querySelector('.diagram-status');
    if (typeof window.BpmnJS !== 'function') {
      status.textContent = container.dataset.errorText;
      return;
    }
    var viewer = new window.BpmnJS({ container: container.querySelector('.diagram-canvas') });
    fetch(container.dataset.diagramUrl, { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) {
          throw new Error('HTTP ' + response.status);
        }
        return response.text();
      })
      .then(function (xml) {
        return viewer.importXML(xml);
      })
      .then(function () {
        mark(viewer, ids(container.dataset.done), 'gf-done');
        mark(viewer, ids(container.dataset.current), 'gf-current');
        viewer.get('canvas').zoom('fit-viewport');
        container.classList.add('is-loaded');
        status.textContent = '';
      })
      .catch(function () {
        container.classList.add('is-failed');
        status.textContent = container.dataset.errorText;
      });
  }

  document.querySelectorAll('[data-diagram-url]').forEach(show);
})();
