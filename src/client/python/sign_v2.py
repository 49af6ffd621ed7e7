"""RFC 9421 request signing for the Generation Service (signature v2), standard library only.

    headers = sign_v2("POST", url, key_id, secret, body)   # body: the exact bytes you send, or None
    urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST")
"""
import base64, hashlib, hmac, secrets, time, urllib.parse


def sign_v2(method: str, url: str, key_id: str, secret: str, body: bytes | None = None) -> dict[str, str]:
    target = urllib.parse.urlsplit(url)
    components = [("@method", method.upper()), ("@path", target.path or "/"), ("@query", "?" + target.query)]
    headers = {}
    if body is not None:
        headers["Content-Digest"] = "sha-256=:%s:" % base64.b64encode(hashlib.sha256(body).digest()).decode()
        components.append(("content-digest", headers["Content-Digest"]))
    params = "(%s)" % " ".join('"%s"' % name for name, _ in components)
    params += ';created=%d;keyid="%s";nonce="%s";alg="hmac-sha256"' % (time.time(), key_id, secrets.token_urlsafe(16))
    base = "".join('"%s": %s\n' % component for component in components) + '"@signature-params": ' + params
    mac = hmac.new(base64.b64decode(secret), base.encode(), hashlib.sha256).digest()
    headers["Signature-Input"] = "sig1=" + params
    headers["Signature"] = "sig1=:%s:" % base64.b64encode(mac).decode()
    return headers
