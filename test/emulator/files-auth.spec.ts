import OpenAI, { AuthenticationError, NotFoundError, toFile } from 'openai';
import type { FileDeleted, FileObject } from 'openai/resources/files';
import type { RunningEmulator } from '../../src/emulator/emulator.js';
import { API_KEY, startTestEmulator, uploadJsonl } from './helpers.js';

let emu: RunningEmulator;
let client: OpenAI;

beforeAll(async () => {
  ({ emu, client } = await startTestEmulator());
});
afterAll(() => emu.close());

describe('auth', () => {
  it('answers 401 in OpenAI error shape without a bearer key', async () => {
    const res = await fetch(`${emu.url}/batches`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/You didn't provide an API key/);
  });

  it('rejects a wrong key with code invalid_api_key (SDK AuthenticationError)', async () => {
    const wrong = new OpenAI({ apiKey: 'sk-wrong-key-123456', baseURL: emu.url, maxRetries: 0 });
    const error = await wrong.batches.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).code).toBe('invalid_api_key');
    expect((error as AuthenticationError).status).toBe(401);
  });

  it('accepts any non-empty key when no apiKey is configured', async () => {
    const { emu: open } = await startTestEmulator({ apiKey: undefined });
    const anyKey = new OpenAI({ apiKey: 'whatever', baseURL: open.url, maxRetries: 0 });
    await expect(anyKey.batches.list()).resolves.toMatchObject({ data: expect.any(Array) });
    await open.close();
  });

  it('answers unknown routes 404 with OpenAI error shape', async () => {
    const res = await fetch(`${emu.url}/nope`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { message: 'Invalid URL (GET /v1/nope)', type: 'invalid_request_error', param: null, code: null },
    });
  });
});

describe('files', () => {
  it('uploads, retrieves, downloads and deletes a batch file', async () => {
    const content = '{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"o4-mini","input":"x"}}\n';
    const created: FileObject = await client.files.create({ file: await toFile(Buffer.from(content), 'lots.jsonl'), purpose: 'batch' });
    expect(created).toMatchObject({
      object: 'file',
      bytes: Buffer.byteLength(content),
      filename: 'lots.jsonl',
      purpose: 'batch',
      status: 'processed',
    });
    expect(created.id).toMatch(/^file-/);
    expect(Math.abs(created.created_at - Date.now() / 1000)).toBeLessThan(5);

    const retrieved: FileObject = await client.files.retrieve(created.id);
    expect(retrieved).toEqual(created);
    expect(await (await client.files.content(created.id)).text()).toBe(content);

    const deleted: FileDeleted = await client.files.delete(created.id);
    expect(deleted).toEqual({ id: created.id, object: 'file', deleted: true });
    await expect(client.files.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers 404 invalid_request_error for an unknown file id', async () => {
    const error = (await client.files.content('file-unknown').catch((e: unknown) => e)) as NotFoundError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toMatch(/No such File object: file-unknown/);
  });

  it('accepts any .jsonl for purpose batch (lines are checked by the batch), but refuses other extensions', async () => {
    await expect(uploadJsonl(client, ['not json at all'])).resolves.toMatchObject({ purpose: 'batch' });
    const error = await client.files
      .create({ file: await toFile(Buffer.from('x'), 'lots.csv'), purpose: 'batch' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('lists files newest first', async () => {
    const a = await uploadJsonl(client, ['{}'], 'a.jsonl');
    const b = await uploadJsonl(client, ['{}'], 'b.jsonl');
    const page = await client.files.list({ purpose: 'batch' });
    const ids = page.data.map((f) => f.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
  });
});
