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
    // data freshness, measured by the browser: the server's answer says how old the feed was when it
    // answered; the time since that answer arrived is added here, so a frozen or unreachable server
    // cannot keep a screen green. No answer for two intervals: the whole screen shows it stopped.
    freshness: function (_n, data, zone) {
      var cb = window.citybrainFresh || (window.citybrainFresh = { data: null, received: null });
      var trig = window.dash_clientside.callback_context.triggered.map(function (t) { return t.prop_id; });
      if (data && (trig.indexOf("shell-freshness-data.data") >= 0 || cb.data === null)) {
        cb.data = data;
        cb.received = Date.now();
      }
      var d = cb.data;
      var body = document.body;
      if (!d) { return ["", "freshness", "", "stale-banner"]; }
      var tx = d.text;
      var since = Date.now() - cb.received;
      var fmt = function (ms) {
        return new Intl.DateTimeFormat(zone && zone.lang === "en" ? "en-GB" : "zh-CN", {
          timeZone: zone ? zone.tz : undefined, hour: "2-digit", minute: "2-digit", second: "2-digit",
          hour12: false }).format(new Date(ms));
      };
      var screenStale = since > d.screen_stale_after_ms;
      var age = d.feed_age_s === null ? null : d.feed_age_s + since / 1000;
      var feedStale = age === null || age > d.stale_after_s || d.db_error;
      body.classList.toggle("screen-stale", screenStale);
      body.classList.toggle("feed-stale", feedStale && !screenStale);
      var banner = screenStale ? tx.screen_stale + " · " + tx.last_update + " " + fmt(cb.received) : "";
      var bannerClass = screenStale ? "stale-banner on" : "stale-banner";
      var text, cls = "freshness ok";
      if (d.db_error) {
        text = tx.db_down; cls = "freshness stale";
      } else if (age === null) {
        text = tx.no_data; cls = "freshness stale";
      } else {
        var lastEvent = Date.now() - age * 1000;
        text = tx.fresh + " " + fmt(lastEvent) + " · " + Math.floor(age) + " " + tx.ago;
        if (feedStale) { text = tx.stale + " · " + text; cls = "freshness stale"; }
      }
      if (screenStale) { cls = "freshness stale"; }
      if (!screenStale && feedStale) {
        banner = text; bannerClass = "stale-banner on feed";
      }
      return [text, cls, banner, bannerClass];
    },
    // the wall's map sizes its labels from the screen's height: report it once, and again on a resize
    viewport: function (_n) {
      var h = window.innerHeight, w = window.innerWidth;
      if (window.citybrainViewport && window.citybrainViewport.h === h && window.citybrainViewport.w === w) {
        return window.dash_clientside.no_update;
      }
      window.citybrainViewport = { h: h, w: w };
      return { h: h, w: w };
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
      ["duty-queue", "duty-cases", "duty-instructions", "video-down"].forEach(function (id) {
        if (!document.getElementById(id) || !window.dash_ag_grid) { return; }
        try {
          window.dash_ag_grid.getApi(id).refreshCells({ columns: ["age", "next", "left"], force: true });
        } catch (e) { /* the grid is still starting */ }
      });
      return window.dash_clientside.no_update;
    },
  },
});
