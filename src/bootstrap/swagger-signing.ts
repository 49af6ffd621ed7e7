/**
 * Browser script added to Swagger UI. Two ways to sign, both computed in the browser with Web Crypto
 * (plain ES2017, no dependencies):
 * - "Authorize → rfc9421" (HTTP Basic fields: username = key id, password = the base64 HMAC secret): the
 *   request is signed with RFC 9421 (SPEC §4 "Signature v2": Signature-Input, Signature, Content-Digest,
 *   created = now, a fresh nonce). The Authorization header swagger-ui built from those fields is removed,
 *   so the secret never leaves the page; X-Signature too, should hmac be filled as well.
 * - otherwise, "Authorize → hmac" (SHARED_KEY): X-Signature is replaced with the seed signature of the
 *   request (same rules as the server).
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
  function base64(bytes) {
    var text = '';
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }
  function fromBase64(text) {
    var binary = atob(text.trim().replace(/-/g, '+').replace(/_/g, '/'));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }
  function sfString(s) {
    if (!/^[\x20-\x7e]+$/.test(s)) throw new Error('the key id must be printable ASCII');
    return '"' + s.replace(/["\\]/g, '\\$&') + '"';
  }
  function headerName(headers, lower) {
    return Object.keys(headers).filter(function (name) { return name.toLowerCase() === lower; })[0];
  }
  // Takes the rfc9421 credentials out of the Authorization header swagger-ui built from the Basic fields.
  function takeV2Credentials(headers) {
    var name = headerName(headers, 'authorization');
    var match = name && /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(headers[name]);
    if (!match) return null;
    delete headers[name];
    var decoded;
    try { decoded = atob(match[1]); } catch (e) { return null; }
    var colon = decoded.indexOf(':');
    if (colon <= 0 || colon === decoded.length - 1) return null;
    return { keyId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  async function signV2(req, credentials) {
    var enc = new TextEncoder();
    var url = new URL(req.url, location.href);
    var components = ['"@method"', '"@path"', '"@query"'];
    var lines = ['"@method": ' + req.method.toUpperCase(), '"@path": ' + (url.pathname || '/'), '"@query": ' + (url.search || '?')];
    if (typeof req.body === 'string' && req.body.length > 0) {
      var digest = 'sha-256=:' + base64(new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(req.body)))) + ':';
      req.headers['Content-Digest'] = digest;
      components.push('"content-digest"');
      lines.push('"content-digest": ' + digest);
    }
    var nonce = crypto.getRandomValues(new Uint8Array(16));
    var params = '(' + components.join(' ') + ');created=' + Math.floor(Date.now() / 1000) + ';keyid=' + sfString(credentials.keyId) +
      ';nonce="' + Array.from(nonce).map(function (b) { return b.toString(16).padStart(2, '0'); }).join('') + '";alg="hmac-sha256"';
    lines.push('"@signature-params": ' + params);
    var key = await crypto.subtle.importKey('raw', fromBase64(credentials.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    var signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(lines.join('\n'))));
    req.headers['Signature-Input'] = 'sig1=' + params;
    req.headers['Signature'] = 'sig1=:' + base64(signature) + ':';
    return req;
  }
  function install() {
    if (!window.ui || !window.ui.getConfigs) return setTimeout(install, 100);
    window.ui.getConfigs().requestInterceptor = async function (req) {
      var credentials = takeV2Credentials(req.headers);
      if (credentials) {
        // SHARED_KEY typed under hmac must not travel in clear next to the v2 signature.
        var seed = headerName(req.headers, 'x-signature');
        if (seed) delete req.headers[seed];
        return /\/api\/v1\//.test(req.url) ? signV2(req, credentials) : req;
      }
      var key = req.headers['X-Signature'];
      if (!key || /^sha256=[0-9a-f]{64}$/i.test(key) || !/\/api\/v1\//.test(req.url)) return req;
      req.headers['X-Signature'] = await hmac(key, subject(req));
      return req;
    };
  }
  install();
})();
`;
