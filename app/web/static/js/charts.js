/* govflow: draw the supervision dashboard's charts with the vendored ECharts.
   The data comes from <script type="application/json" id="stats-data"> (no inline script: CSP). */
(function () {
  'use strict';

  var COLORS = { received: '#1557a0', closed: '#2e7d32', overdue: '#b71c1c', rate: '#b7791f' };
  var LEVEL_COLORS = { warning: '#1557a0', yellow: '#f0b400', red: '#b71c1c' };  // the badges' colours

  function readData() {
    var node = document.getElementById('stats-data');
    if (!node) {
      return null;
    }
    try {
      return JSON.parse(node.textContent);
    } catch (error) {
      return null;
    }
  }

  function percent(value) {
    return value === null || value === undefined ? null : Math.round(value * 1000) / 10;
  }

  function emptyTitle(labels, rows) {
    return rows.length ? undefined : { text: labels.empty, left: 'center', top: 'middle', textStyle: { color: '#66727f', fontSize: 14 } };
  }

  function deptChart(data) {
    var rows = data.stats.departments;
    var labels = data.labels;
    return {
      title: emptyTitle(labels, rows),
      color: [COLORS.received, COLORS.closed, COLORS.overdue],
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 48 },
      xAxis: { type: 'category', data: rows.map(function (r) { return r.name; }), axisLabel: { interval: 0, rotate: rows.length > 4 ? 30 : 0 } },
      yAxis: { type: 'value', minInterval: 1 },
      series: ['received', 'closed', 'overdue'].map(function (key) {
        return { name: labels[key], type: 'bar', barMaxWidth: 36, data: rows.map(function (r) { return r[key]; }) };
      })
    };
  }

  function rateChart(data) {
    var rows = data.stats.departments;
    var labels = data.labels;
    return {
      title: emptyTitle(labels, rows),
      color: [COLORS.closed, COLORS.rate],
      tooltip: { trigger: 'axis', valueFormatter: function (v) { return v === null || v === undefined ? '—' : v + '%'; } },
      legend: { top: 0 },
      grid: { left: 44, right: 16, top: 36, bottom: 48 },
      xAxis: { type: 'category', data: rows.map(function (r) { return r.name; }), axisLabel: { interval: 0, rotate: rows.length > 4 ? 30 : 0 } },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
      series: ['on_time_rate', 'satisfaction_rate'].map(function (key) {
        return { name: labels[key], type: 'bar', barMaxWidth: 36, data: rows.map(function (r) { return percent(r[key]); }) };
      })
    };
  }

  function alertChart(data) {
    var labels = data.labels;
    var levels = ['red', 'yellow', 'warning'];
    var slices = levels.filter(function (level) { return data.alerts[level] > 0; }).map(function (level) {
      return { name: labels.levels[level], value: data.alerts[level], itemStyle: { color: LEVEL_COLORS[level] } };
    });
    return {
      title: emptyTitle(labels, slices),
      tooltip: { trigger: 'item' },
      legend: { bottom: 0 },
      // A smaller ring leaves the labels room beside it (name over count, never cut to "…") at 390 px too.
      series: [{
        type: 'pie',
        radius: ['32%', '54%'],
        center: ['50%', '44%'],
        data: slices,
        label: { formatter: '{b}\n{c}', overflow: 'none', lineHeight: 16 },
        labelLine: { length: 8, length2: 8 }
      }]
    };
  }

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) {
      return null;
    }
    var chart = window.echarts.init(element, null, { renderer: 'canvas' });
    chart.setOption(option);
    return chart;
  }

  function start() {
    var data = readData();
    if (!data || typeof window.echarts === 'undefined') {
      return;
    }
    var charts = [
      draw('chart-dept', deptChart(data)),
      draw('chart-rate', rateChart(data)),
      draw('chart-alerts', alertChart(data))
    ].filter(Boolean);
    window.addEventListener('resize', function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
    document.documentElement.dataset.chartsReady = String(charts.length);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
