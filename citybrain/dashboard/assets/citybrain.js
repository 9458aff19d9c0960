// Browser-side helpers: the clock (the city's time zone, never UTC) and the duty console's alarm.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  citybrain: {
    clock: function (_n, zone) {
      if (!zone) { return ""; }
      var fmt = new Intl.DateTimeFormat(zone.lang === "en" ? "en-GB" : "zh-CN", {
        timeZone: zone.tz, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
      });
      return fmt.format(new Date());
    },
    // the navigation link of the page on screen is marked
    markNav: function (pathname) {
      document.querySelectorAll("#shell-nav .nav-link").forEach(function (a) {
        a.classList.toggle("active", a.getAttribute("href") === pathname);
      });
      return "shell-nav";
    },
    // flash and sound while a critical alert is unacknowledged; silent again once none is left
    alarm: function (ids, banner) {
      var audio = document.getElementById("duty-alarm-audio");
      var on = Array.isArray(ids) && ids.length > 0;
      if (audio) {
        if (on) {
          var played = audio.play();
          if (played && played.catch) {
            played.catch(function () { document.body.classList.add("sound-blocked"); });
          }
        } else {
          audio.pause();
          audio.currentTime = 0;
        }
      }
      document.body.classList.toggle("critical-alarm", on);
      return on ? "alarm-banner on" : "alarm-banner";
    },
    enableSound: function (n) {
      var audio = document.getElementById("duty-alarm-audio");
      if (n && audio) {
        audio.play().then(function () { document.body.classList.remove("sound-blocked"); }, function () {});
      }
      return window.dash_clientside.no_update;
    },
    // ages and countdowns tick every second without asking the server
    tickGrids: function (_n) {
      ["duty-queue", "duty-cases"].forEach(function (id) {
        if (!document.getElementById(id) || !window.dash_ag_grid) { return; }
        try {
          window.dash_ag_grid.getApi(id).refreshCells({ columns: ["age", "next", "left"], force: true });
        } catch (e) { /* the grid is still starting */ }
      });
      return window.dash_clientside.no_update;
    },
  },
});
