// Functions the duty console's grids call by name (dash-ag-grid looks them up here).
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

function citybrainDuration(ms) {
  var s = Math.max(0, Math.floor(ms / 1000));
  var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  return (h > 0 ? h + ":" + pad(m) : m) + ":" + pad(sec);
}
dagfuncs.citybrainDuration = citybrainDuration;

// how long an alert has been open, ticking every second
dagfuncs.citybrainAge = function (openedMs) {
  return openedMs ? citybrainDuration(Date.now() - openedMs) : "";
};

// time to the next escalation; "now" when due; the top-level label when it will not escalate again
dagfuncs.citybrainCountdown = function (row, topLabel) {
  if (row.next_escalation_ms) {
    var left = row.next_escalation_ms - Date.now();
    return left > 0 ? citybrainDuration(left) : "0:00";
  }
  return row.escalation_max ? topLabel : "—";
};

// time left to a case's deadline, negative (overdue) with a minus sign
dagfuncs.citybrainTimeLeft = function (deadlineMs, overdueLabel) {
  if (!deadlineMs) { return "—"; }
  var left = deadlineMs - Date.now();
  return left >= 0 ? citybrainDuration(left) : overdueLabel + " " + citybrainDuration(-left);
};

// how long a video point has been down: until now, or until the moment a replayed page shows
dagfuncs.citybrainDownFor = function (sinceMs, untilMs) {
  return sinceMs ? citybrainDuration((untilMs || Date.now()) - sinceMs) : "—";
};

// for class rules: a moment already past / coming within ``withinMs``
dagfuncs.citybrainPast = function (ms) { return !!ms && ms < Date.now(); };
dagfuncs.citybrainSoon = function (ms, withinMs) { return !!ms && ms - Date.now() < withinMs; };
