/* lipbook explorer: draws a precomputed sweep (lipbook.explorer) on two canvases.
   Plain ES2017, no dependencies, nothing from the network. Defined once per page (a second
   copy only initialises the explorers not yet set up), so several explorers may share a page. */
(function () {
  "use strict";
  var VERSION = 2;
  if (window.lipbookExplorer && window.lipbookExplorer.version === VERSION) {
    window.lipbookExplorer.initAll();
    return;
  }

  var REAL = "#ff7f0e", FAKE = "#2ca02c", CURRENT = "#1f77b4", OTHER = "#c4c4c4";
  // light to dark blue, low to high f (matplotlib's "Blues" at five stops)
  var STOPS = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
  var LUT = (function () {
    var lut = new Uint8ClampedArray(256 * 3);
    for (var q = 0; q < 256; q++) {
      var u = q / 255 * (STOPS.length - 1), k = Math.min(Math.floor(u), STOPS.length - 2);
      var w = u - k;
      for (var c = 0; c < 3; c++) lut[3 * q + c] = STOPS[k][c] * (1 - w) + STOPS[k + 1][c] * w;
    }
    return lut;
  })();

  /* Python's format(x, ".3g"): 3 significant digits, exponent form below 1e-4 or from 1e3. */
  function fmt(x) {
    if (x === null || x === undefined) return "\u2014";
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return 1 / x < 0 ? "-0" : "0";
    var parts = x.toExponential(2).split("e"), exp = parseInt(parts[1], 10);
    if (exp < -4 || exp >= 3) {
      var mant = parts[0].replace(/\.?0+$/, "");
      return mant + "e" + (exp < 0 ? "-" : "+") + String(Math.abs(exp)).padStart(2, "0");
    }
    var s = x.toFixed(2 - exp);
    return s.indexOf(".") >= 0 ? s.replace(/\.?0+$/, "") : s;
  }

  function bytes(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function points(b64, lim) { // uint16 little-endian pairs over [-lim, lim] -> Float64Array
    var b = bytes(b64), view = new DataView(b.buffer), n = b.length / 2;
    var out = new Float64Array(n);
    for (var i = 0; i < n; i++) out[i] = -lim + view.getUint16(2 * i, true) / 65535 * 2 * lim;
    return out;
  }

  /* The readout of dataset di, value vi, snapshot ti: the text Explorer.frame gives. */
  function readout(d, di, vi, ti) {
    var ds = d.datasets[di];
    var head = ds.name + " \u00b7 " + d.labels[vi] + " \u00b7 iteration " + d.steps[ti];
    var fr = ds.frames[vi][ti], dv = ds.diverged[vi];
    if (!fr) return head + " \u00b7 diverged at iteration " + dv;
    var modes = fr.modes ? fr.modes[0] + "/" + fr.modes[1] : "\u2014";
    var s = head + " \u00b7 W1 = " + fmt(fr.w1) + " \u00b7 modes " + modes +
      " \u00b7 E f(real) \u2212 E f(fake) = " + fmt(fr.dual) +
      " \u00b7 mean \u2016\u2207f\u2016 = " + fmt(fr.grad);
    if (fr.out) s += " \u00b7 " + fr.out + " generated point" + (fr.out > 1 ? "s" : "") + " outside the view";
    if (dv !== null && dv !== undefined) s += " \u00b7 diverges at iteration " + dv;
    return s;
  }

  function setup(canvas) { // a crisp canvas at the device's pixel ratio; returns its context
    var w = Number(canvas.getAttribute("width")), h = Number(canvas.getAttribute("height"));
    var r = window.devicePixelRatio || 1;
    canvas.style.width = w + "px";
    canvas.width = Math.round(w * r);
    canvas.height = Math.round(h * r);
    var ctx = canvas.getContext("2d");
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return {ctx: ctx, w: w, h: h};
  }

  /* Marching squares: segments of the level set {f = level} on the grid q (row j = x2). */
  function contour(ctx, q, n, level, X, Y) {
    ctx.beginPath();
    for (var j = 0; j < n - 1; j++) {
      for (var i = 0; i < n - 1; i++) {
        var a = q[j * n + i], b = q[j * n + i + 1], c = q[(j + 1) * n + i + 1], e = q[(j + 1) * n + i];
        var idx = (a > level ? 1 : 0) | (b > level ? 2 : 0) | (c > level ? 4 : 0) | (e > level ? 8 : 0);
        if (idx === 0 || idx === 15) continue;
        // crossing points on the edges: bottom (a-b), right (b-c), top (e-c), left (a-e)
        var pts = [];
        if ((idx & 1) !== ((idx >> 1) & 1)) pts.push([i + (level - a) / (b - a), j]);
        if (((idx >> 1) & 1) !== ((idx >> 2) & 1)) pts.push([i + 1, j + (level - b) / (c - b)]);
        if (((idx >> 3) & 1) !== ((idx >> 2) & 1)) pts.push([i + (level - e) / (c - e), j + 1]);
        if ((idx & 1) !== ((idx >> 3) & 1)) pts.push([i, j + (level - a) / (e - a)]);
        for (var p = 0; p + 1 < pts.length; p += 2) { // saddles give 4 points: 2 segments
          ctx.moveTo(X(pts[p][0]), Y(pts[p][1]));
          ctx.lineTo(X(pts[p + 1][0]), Y(pts[p + 1][1]));
        }
      }
    }
    ctx.stroke();
  }

  function Explorer(root) {
    this.root = root;
    this.d = JSON.parse(root.querySelector("script.lipbook-explorer-data").textContent);
    this.dataset = root.querySelector('select[name="dataset"]');
    this.value = root.querySelector('input[name="value"]');
    this.step = root.querySelector('input[name="step"]');
    this.play = root.querySelector("button.lbx-play");
    this.readout = root.querySelector(".lipbook-readout");
    this.land = setup(root.querySelector("canvas.lbx-landscape"));
    this.curves = setup(root.querySelector("canvas.lbx-curves"));
    this.cache = {}; // decoded frames, by "dataset,value,time"
    // decoded target points, by dataset
    this.reals = {};
    this.timer = null;
    var self = this;
    this.dataset.addEventListener("change", function () { self.draw(); });
    this.value.addEventListener("input", function () { self.draw(); });
    this.step.addEventListener("input", function () { self.draw(); });
    this.play.addEventListener("click", function () { self.toggle(); });
    this.draw();
  }

  Explorer.prototype.real = function (di) {
    if (!(di in this.reals)) this.reals[di] = points(this.d.datasets[di].real, this.d.lim);
    return this.reals[di];
  };

  Explorer.prototype.decoded = function (di, vi, ti) {
    var key = di + "," + vi + "," + ti, fr = this.d.datasets[di].frames[vi][ti];
    if (!(key in this.cache)) {
      this.cache[key] = fr ? {f: bytes(fr.f), pts: points(fr.pts, this.d.lim), fr: fr} : null;
    }
    return this.cache[key];
  };

  Explorer.prototype.toggle = function () {
    var self = this;
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    } else {
      if (Number(this.step.value) >= Number(this.step.max)) this.step.value = "0";
      this.draw();
      this.timer = setInterval(function () {
        var t = Number(self.step.value) + 1;
        if (t > Number(self.step.max)) { self.toggle(); return; }
        self.step.value = String(t);
        self.draw();
      }, 600);
    }
    var on = this.timer !== null;
    this.play.setAttribute("aria-pressed", String(on));
    this.play.textContent = on ? "\u275a\u275a pause" : "\u25b6 play";
  };

  Explorer.prototype.draw = function () {
    var t0 = performance.now(), d = this.d;
    var di = Number(this.dataset.value), vi = Number(this.value.value);
    var ti = Number(this.step.value);
    this.root.querySelector("output.lbx-value").textContent = d.labels[vi];
    this.root.querySelector("output.lbx-step").textContent =
      "iteration " + d.steps[ti] + " of " + d.total;
    this.readout.textContent = readout(d, di, vi, ti);
    this.drawLandscape(di, vi, ti);
    this.drawCurves(di, vi, ti);
    this.root.dataset.drawMs = (performance.now() - t0).toFixed(2);
  };

  Explorer.prototype.drawLandscape = function (di, vi, ti) {
    var d = this.d, ds = d.datasets[di], ctx = this.land.ctx, W = this.land.w, H = this.land.h, n = d.res, lim = d.lim;
    var ox = 36, oy = 8, S = Math.min(W - ox - 8, H - oy - 30);
    var toX = function (x) { return ox + (x + lim) / (2 * lim) * S; };
    var toY = function (y) { return oy + (lim - y) / (2 * lim) * S; };
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, H);
    var last = ti; // past a divergence: the last frame before it, dimmed
    while (last >= 0 && !ds.frames[vi][last]) last--;
    var frame = last >= 0 ? this.decoded(di, vi, last) : null;
    ctx.save();
    ctx.beginPath();
    ctx.rect(ox, oy, S, S);
    ctx.clip();
    if (frame) {
      var img = new ImageData(n, n);
      for (var j = 0; j < n; j++) {
        for (var i = 0; i < n; i++) {
          var q = frame.f[j * n + i], p = 4 * ((n - 1 - j) * n + i);
          img.data[p] = LUT[3 * q]; img.data[p + 1] = LUT[3 * q + 1];
          img.data[p + 2] = LUT[3 * q + 2]; img.data[p + 3] = 255;
        }
      }
      var off = document.createElement("canvas");
      off.width = off.height = n;
      off.getContext("2d").putImageData(img, 0, 0);
      var cell = S / (n - 1); // pixel centres on the grid points
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(off, ox - cell / 2, oy - cell / 2, S + cell, S + cell);
      ctx.strokeStyle = "rgba(0,0,0,0.35)";
      ctx.lineWidth = 0.8;
      var gx = function (i) { return ox + i * cell; }, gy = function (j) { return oy + S - j * cell; };
      for (var k = 1; k <= 7; k++) contour(ctx, frame.f, n, 255 * k / 8, gx, gy);
      this.scatter(ctx, this.real(di), REAL, toX, toY);
      this.scatter(ctx, frame.pts, FAKE, toX, toY);
    }
    ctx.restore();
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.strokeRect(ox, oy, S, S);
    ctx.fillStyle = "#222";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    [-lim, 0, lim].forEach(function (v) {
      ctx.fillText(fmt(v), toX(v), oy + S + 13);
    });
    ctx.fillText("x1", ox + S / 2, oy + S + 26);
    ctx.textAlign = "right";
    [-lim, 0, lim].forEach(function (v) { ctx.fillText(fmt(v), ox - 4, toY(v) + 4); });
    ctx.fillText("x2", ox - 4, oy + S / 2 - 14);
    // legend
    var fr = frame ? frame.fr : null;
    ctx.textAlign = "left";
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(ox + 4, oy + 4, 150, 50);
    var rows = [[REAL, "real samples"], [FAKE, "generated samples"]];
    rows.forEach(function (r, k) {
      ctx.fillStyle = r[0];
      ctx.fillRect(ox + 10, oy + 12 + 14 * k, 6, 6);
      ctx.fillStyle = "#222";
      ctx.fillText(r[1], ox + 22, oy + 18 + 14 * k);
    });
    if (fr) ctx.fillText("f from " + fmt(fr.lo) + " to " + fmt(fr.hi), ox + 10, oy + 46);
    if (!ds.frames[vi][ti]) { // diverged: say so over the drawing
      ctx.fillStyle = "rgba(255,255,255,0.6)";
      ctx.fillRect(ox, oy, S, S);
      ctx.fillStyle = "#b00020";
      ctx.font = "bold 16px sans-serif";
      ctx.textAlign = "center";
      ctx.fillText("diverged at iteration " + ds.diverged[vi], ox + S / 2, oy + S / 2);
    }
  };

  Explorer.prototype.scatter = function (ctx, pts, color, toX, toY) {
    ctx.fillStyle = color;
    ctx.globalAlpha = 0.75;
    for (var i = 0; i + 1 < pts.length; i += 2) ctx.fillRect(toX(pts[i]) - 1.25, toY(pts[i + 1]) - 1.25, 2.5, 2.5);
    ctx.globalAlpha = 1;
  };

  Explorer.prototype.drawCurves = function (di, vi, ti) {
    var d = this.d, ds = d.datasets[di], ctx = this.curves.ctx, W = this.curves.w, H = this.curves.h;
    var L = 52, R = 14, T = 26, B = 40, pw = W - L - R, ph = H - T - B;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, H);
    var lo = Infinity, hi = -Infinity;
    ds.curves.forEach(function (c) {
      c.w1.forEach(function (w) { if (w !== null && w > 0) { lo = Math.min(lo, w); hi = Math.max(hi, w); } });
    });
    if (!(lo < Infinity)) { lo = 0.01; hi = 1; }
    var e0 = Math.floor(Math.log10(lo)), e1 = Math.ceil(Math.log10(hi));
    if (e1 <= e0) e1 = e0 + 1;
    var toX = function (s) { return L + s / Math.max(d.total, 1) * pw; };
    var toY = function (w) { return T + (e1 - Math.log10(w)) / (e1 - e0) * ph; };
    ctx.font = "11px sans-serif";
    ctx.strokeStyle = "#eee";
    ctx.fillStyle = "#222";
    ctx.textAlign = "right";
    for (var e = e0; e <= e1; e++) {
      [1, 2, 5].forEach(function (m) {
        var w = m * Math.pow(10, e);
        if (Math.log10(w) > e1 + 1e-9) return;
        ctx.beginPath(); ctx.moveTo(L, toY(w)); ctx.lineTo(L + pw, toY(w)); ctx.stroke();
        if (m === 1 || e1 - e0 <= 2) ctx.fillText(fmt(w), L - 4, toY(w) + 4);
      });
    }
    ctx.textAlign = "center";
    for (var k = 0; k <= 4; k++) {
      var s = Math.round(d.total * k / 4);
      ctx.fillText(String(s), toX(s), T + ph + 14);
    }
    ctx.fillText("generator iteration", L + pw / 2, T + ph + 30);
    ctx.save();
    ctx.translate(13, T + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText("exact W1 (log scale)", 0, 0);
    ctx.restore();
    ctx.strokeStyle = "#888";
    ctx.strokeRect(L, T, pw, ph);
    var line = function (c, color, width) {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      var started = false;
      for (var i = 0; i < c.step.length; i++) {
        if (c.w1[i] === null || !(c.w1[i] > 0)) continue;
        if (started) ctx.lineTo(toX(c.step[i]), toY(c.w1[i]));
        else { ctx.moveTo(toX(c.step[i]), toY(c.w1[i])); started = true; }
      }
      ctx.stroke();
    };
    ds.curves.forEach(function (c, i) { if (i !== vi) line(c, OTHER, 1); });
    line(ds.curves[vi], CURRENT, 2.5);
    var it = d.steps[ti];
    ctx.strokeStyle = "#d62728";
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(toX(it), T); ctx.lineTo(toX(it), T + ph); ctx.stroke();
    ctx.setLineDash([]);
    var fr = ds.frames[vi][ti];
    if (fr && fr.w1 > 0) {
      ctx.fillStyle = CURRENT;
      ctx.beginPath(); ctx.arc(toX(it), toY(fr.w1), 4, 0, 2 * Math.PI); ctx.fill();
    }
    var dv = ds.diverged[vi];
    if (dv !== null && dv !== undefined) {
      ctx.fillStyle = "#b00020";
      var near = toX(dv) < L + 60 ? "left" : toX(dv) > L + pw - 60 ? "right" : "center";
      ctx.textAlign = near;
      ctx.fillText("\u2715 diverged at " + dv, toX(dv), T + 12);
    }
    ctx.textAlign = "left";
    ctx.fillStyle = CURRENT;
    ctx.fillRect(L, 9, 14, 3);
    ctx.fillText(d.labels[vi] + " (grey: the other values; red: now)", L + 18, 14);
  };

  function init(root) {
    if (!root || root.dataset.ready) return;
    root.dataset.ready = "1";
    try {
      root.lipbookExplorer = new Explorer(root);
    } catch (err) {
      root.dataset.error = String(err);
      throw err;
    }
  }

  function initAll() {
    var roots = document.querySelectorAll("div.lipbook-explorer");
    for (var i = 0; i < roots.length; i++) init(roots[i]);
  }

  window.lipbookExplorer = {version: VERSION, init: init, initAll: initAll, format: fmt};
  initAll();
})();
