// Draws every <canvas data-chart="line|bar" data-source="<json_script id>"> with the vendored Chart.js.
document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
  var source = document.getElementById(canvas.dataset.source);
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: canvas.dataset.chart,
    data: { labels: data.labels, datasets: [{ label: canvas.getAttribute("aria-label"), data: data.values,
      borderColor: "#1f5fbf", backgroundColor: "rgba(31,95,191,0.35)", fill: false, tension: 0.2 }] },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 }, suggestedMax: canvas.dataset.max ? Number(canvas.dataset.max) : undefined } } }
  });
});
