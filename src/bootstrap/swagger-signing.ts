/**
 * Browser script added to Swagger UI: when the user has entered SHARED_KEY under
 * "Authorize → hmac", it replaces X-Signature on each request with the real
 * signature of that request (same rules as the server, SPEC §4), computed with
 * Web Crypto. Plain ES2017, no dependencies.
 */
export const SWAGGER_SIGNING_SCRIPT = String.raw`
(function () {
  function pyString(s) {
    var out = '"';
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c === 0x22) out += '\\"'; else if (c === 0x5c) out += '\\\\';
      else if (c === 0x0a) out += '\\n'; else if (c === 0x0d) out += '\\r'; else if (c === 0x09) out += '\\t';
      else if (c === 0x08) out += '\\b'; else if (c === 0x0c) out += '\\f';
      else if (c >= 0x20 && c <= 0x7e) out += s[i];
      else out += '\\u' + ('0000' + c.toString(16)).slice(-4);
    }
    return out + '"';
  }
  function cmp(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      var d = x[i].codePointAt(0) - y[i].codePointAt(0); if (d) return d;
    }
    return x.length - y.length;
  }
  function canonical(v) {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'boolean') return String(v);
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string') return pyString(v);
    if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
    return '{' + Object.keys(v).sort(cmp).map(function (k) { return pyString(k) + ':' + canonical(v[k]); }).join(',') + '}';
  }
  async function hmac(key, message) {
    var enc = new TextEncoder();
    var k = await crypto.subtle.importKey('raw', enc.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    var sig = new Uint8Array(await crypto.subtle.sign('HMAC', k, enc.encode(message)));
    return 'sha256=' + Array.from(sig).map(function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }
  function subject(req) {
    var url = new URL(req.url, location.href);
    var job = url.pathname.match(/\/api\/v1\/(?:batch-status|batch-results|batch-jobs|jobs)\/([^/]+)/);
    if (job && !/^\/api\/v1\/batch-jobs\/?$/.test(url.pathname)) return decodeURIComponent(job[1]);
    if (req.method === 'POST' && req.body) {
      try { return canonical(JSON.parse(req.body).lots); } catch (e) { return ''; }
    }
    return url.search.replace(/^\?/, '');
  }
  function install() {
    if (!window.ui || !window.ui.getConfigs) return setTimeout(install, 100);
    window.ui.getConfigs().requestInterceptor = async function (req) {
      var key = req.headers['X-Signature'];
      if (!key || /^sha256=[0-9a-f]{64}$/i.test(key) || !/\/api\/v1\//.test(req.url)) return req;
      req.headers['X-Signature'] = await hmac(key, subject(req));
      return req;
    };
  }
  install();
})();
`;
