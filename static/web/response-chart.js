// Response chart: headache days per 28 days per cycle, baseline and benefit threshold
// as horizontal lines, treatment dates as vertical lines. Chart.js + annotation plugin from npm.
(function () {
  "use strict";
  const DAY = 86400000;
  const toDay = (iso) => Math.round(Date.parse(iso + "T00:00:00Z") / DAY);
  const fromDay = (n) => new Date(n * DAY).toISOString().slice(0, 10);

  function draw() {
    const canvas = document.getElementById("response-chart");
    const source = document.getElementById("response-data");
    if (!canvas || !source || !window.Chart) return;
    if (window["chartjs-plugin-annotation"]) window.Chart.register(window["chartjs-plugin-annotation"]);
    const data = JSON.parse(source.textContent);

    // One flat segment per assessed cycle, from its treatment date to the end of its window.
    const cycles = [];
    data.cycles.forEach((c) => {
      if (c.headache_days_per_28 === null) return;
      cycles.push({ x: toDay(c.treated_on), y: c.headache_days_per_28 });
      cycles.push({ x: toDay(c.window_end), y: c.headache_days_per_28 });
      cycles.push({ x: toDay(c.window_end) + 0.5, y: null });
    });
    const diary = data.diary.map((d) => ({ x: (toDay(d.start) + toDay(d.end)) / 2, y: d.headache_days_per_28 }));

    const annotations = {};
    if (data.baseline !== null) {
      annotations.baseline = {
        type: "line", yMin: data.baseline, yMax: data.baseline, borderColor: "#57606a", borderWidth: 2,
        label: { display: true, content: "Baseline " + data.baseline, position: "start" },
      };
    }
    if (data.threshold !== null) {
      annotations.threshold = {
        type: "line", yMin: data.threshold, yMax: data.threshold, borderColor: "#1a7f37", borderWidth: 2,
        borderDash: [6, 4],
        label: { display: true, content: "Benefit ≤ " + data.threshold + " (−" + data.threshold_pct + " %)", position: "end" },
      };
    }
    data.cycles.forEach((c) => {
      annotations["t" + c.cycle] = {
        type: "line", xMin: toDay(c.treated_on), xMax: toDay(c.treated_on), borderColor: "#0b5cad", borderWidth: 1,
        label: { display: true, content: "Tx " + c.cycle, position: "start", backgroundColor: "#0b5cad" },
      };
    });

    new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: [
          { label: "Cycle (headache days / 28)", data: cycles, borderColor: "#b42318", backgroundColor: "#b42318",
            borderWidth: 3, spanGaps: false, pointRadius: 3 },
          { label: "Diary period", data: diary, showLine: false, borderColor: "#8c959f", backgroundColor: "#8c959f",
            pointRadius: 3 },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "linear", ticks: { callback: (v) => fromDay(v), maxTicksLimit: 6 } },
          y: { beginAtZero: true, suggestedMax: 28, title: { display: true, text: "headache days per 28" } },
        },
        plugins: {
          annotation: { annotations: annotations },
          tooltip: { callbacks: { title: (items) => items.length ? fromDay(Math.round(items[0].parsed.x)) : "" } },
        },
      },
    });
    canvas.dataset.ready = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
