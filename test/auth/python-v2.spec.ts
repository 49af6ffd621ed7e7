import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ClientsService } from '../../src/auth/clients/clients.service.js';
import { startTestApp, type TestApp } from '../support/app.js';

const run = promisify(execFile);
const SIGNER_DIR = resolve('src/client/python');

/** The README's Python v2 signer (standard library only), run as a real client against the service. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const SCRIPT = `
import json, sys, urllib.request, urllib.error
from sign_v2 import sign_v2

base, key_id, secret = sys.argv[1:4]

def call(method, path, payload=None):
    url = base + path
    body = None if payload is None else json.dumps(payload).encode()
    headers = sign_v2(method, url, key_id, secret, body)
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method=method)) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

status, created = call("POST", "/api/v1/generate-descriptions", {"version": "1.0.0", "languages": ["en", "de"],
    "lots": [{"lot_id": "py-1", "images": [{"url": "http://127.0.0.1:9/a.jpg"}]}, {"lot_id": "py-2", "images": [{"url": "http://127.0.0.1:9/b.jpg"}]}]})
polled = call("GET", "/api/v1/batch-status/" + created["job_id"])
listed = call("GET", "/api/v1/batch-jobs?status=pending&limit=5")
print(json.dumps({"created": [status, created], "polled": polled, "listed": listed}))
`;

test('the README Python signer (sign_v2.py) creates, polls and lists jobs as its client', async () => {
  const issued = await t.app.get(ClientsService).create('Python integration');
  const { stdout } = await run('python3', ['-c', SCRIPT, t.url, issued.key_id, issued.secret!], {
    env: { ...process.env, PYTHONPATH: SIGNER_DIR },
  });
  const out = JSON.parse(stdout) as { created: [number, any]; polled: [number, any]; listed: [number, any] };
  expect(out.created[0]).toBe(201);
  const jobId = out.created[1].job_id as string;
  expect(out.polled).toEqual([200, expect.objectContaining({ job_id: jobId })]);
  expect(out.listed[0]).toBe(200);
  const [row] = await t.db.query<{ client_id: string }>('SELECT client_id FROM batch_jobs WHERE id = $1', [jobId]);
  expect(row.client_id).toBe(issued.client_id);
});

test('the README shows the signer file as it is', () => {
  const readme = readFileSync('README.md', 'utf8');
  expect(readme).toContain('src/client/python/sign_v2.py');
  const signer = readFileSync(resolve(SIGNER_DIR, 'sign_v2.py'), 'utf8');
  expect(signer.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#')).length).toBeLessThanOrEqual(25);
});
