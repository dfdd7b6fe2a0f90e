/* coupontrail storefront triggers: exit intent, scroll depth, cart value.
 * Runs on every storefront page: no dependencies, nothing is fetched until a
 * trigger fires, at most one code request per trigger and page, and once a
 * code was shown (or refused) nothing more this browser session. */
(function (w, d) {
  var el = d.getElementById('coupontrail-triggers-config');
  if (!el || w.__coupontrailTriggers) return;
  w.__coupontrailTriggers = 1;
  var cfg;
  try { cfg = JSON.parse(el.textContent); } catch (e) { return; }
  var P = 'coupontrail:';
  function get(s, k) { try { return w[s].getItem(P + k); } catch (e) { return null; } }
  function put(s, k, v) { try { w[s].setItem(P + k, v); } catch (e) {} }
  if (get('sessionStorage', 'done')) return;
  var vid = get('localStorage', 'vid');
  if (!vid) {
    vid = '';
    var a = new Uint8Array(16);
    (w.crypto || {}).getRandomValues ? w.crypto.getRandomValues(a) : a.forEach(function (_, i) { a[i] = Math.random() * 256; });
    for (var i = 0; i < a.length; i++) vid += (a[i] + 256).toString(16).slice(1);
    put('localStorage', 'vid', vid);
  }
  var busy = {}, shown = false;

  function cart() {
    return fetch('/cart.js', { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (c) { return Math.max(0, Math.round(+c.total_price || 0)); }, function () { return 0; });
  }

  function fire(trigger, value) {
    if (shown || busy[trigger] || get('sessionStorage', 'done')) return;
    busy[trigger] = 1;
    (value == null ? cart() : Promise.resolve(value)).then(function (total) {
      var q = '?trigger=' + trigger + '&visitor=' + vid + '&cart=' + total +
        '&redirect=' + encodeURIComponent(cfg.redirect || '/cart') +
        (cfg.campaign ? '&campaign_id=' + encodeURIComponent(cfg.campaign) : '');
      return fetch((cfg.proxy || '/apps/coupontrail') + '/code' + q, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    }).then(function (r) {
      return r.status === 429 ? null : r.json();
    }).then(function (res) {
      if (!res) return;
      if (res.code) show(res);
      else if (res.holdout || res.reason === 'rule_violation' || res.reason === 'no_campaign') put('sessionStorage', 'done', '1');
      // below the cart threshold: this trigger stays spent on this page, another may qualify
    })['catch'](function () { busy[trigger] = 0; });
  }

  function show(res) {
    shown = true;
    put('sessionStorage', 'done', '1');
    var c = cfg.accent || '#1f5199';
    var box = d.createElement('div');
    box.id = 'coupontrail-offer';
    box.setAttribute('role', 'dialog');
    box.setAttribute('aria-live', 'polite');
    box.style.cssText = 'position:fixed;z-index:2147483000;right:16px;bottom:16px;max-width:320px;padding:16px 18px;' +
      'background:#fff;color:#222;border-radius:10px;box-shadow:0 8px 30px rgba(0,0,0,.25);font:15px/1.4 system-ui,sans-serif;border-top:4px solid ' + c;
    var h = d.createElement('strong'); h.textContent = cfg.heading || 'A code for you';
    var m = d.createElement('div'); m.textContent = cfg.message || '';
    var code = d.createElement('div'); code.id = 'coupontrail-code'; code.textContent = res.code;
    code.style.cssText = 'margin:8px 0;font:700 20px/1.2 ui-monospace,monospace;letter-spacing:2px;color:' + c;
    var go = d.createElement('a'); go.id = 'coupontrail-apply'; go.href = res.share_url; go.textContent = cfg.button || 'Apply';
    go.style.cssText = 'display:inline-block;padding:8px 14px;border-radius:6px;color:#fff;text-decoration:none;background:' + c;
    var x = d.createElement('button'); x.type = 'button'; x.setAttribute('aria-label', 'Close'); x.textContent = '\u00d7';
    x.style.cssText = 'position:absolute;top:6px;right:8px;border:0;background:none;font-size:20px;cursor:pointer;color:#666';
    x.onclick = function () { box.remove(); };
    box.appendChild(x); box.appendChild(h); box.appendChild(m); box.appendChild(code); box.appendChild(go);
    d.body.appendChild(box);
  }

  if (cfg.exitIntent) {
    d.addEventListener('mouseout', function (e) {
      if (!e.relatedTarget && e.clientY <= 0) fire('exit_intent');
    });
  }
  var depth = +cfg.scrollDepth || 0;
  if (depth > 0) {
    var onScroll = function () {
      var de = d.documentElement, max = Math.max(de.scrollHeight - w.innerHeight, 1);
      if ((w.scrollY || de.scrollTop) / max * 100 >= depth) {
        w.removeEventListener('scroll', onScroll);
        fire('scroll_depth');
      }
    };
    w.addEventListener('scroll', onScroll, { passive: true });
  }
  if (cfg.cartValue) {
    var min = +cfg.cartMinimum || 0;
    var check = function () {
      cart().then(function (t) { if (t > 0 && t >= min) fire('cart_value', t); });
    };
    check();
    // Products added through a form or the Ajax cart API: look again shortly after.
    d.addEventListener('submit', function (e) {
      if (/\/cart\/add/.test((e.target && e.target.action) || '')) setTimeout(check, 1500);
    }, true);
  }
})(window, document);
