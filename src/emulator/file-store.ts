import { notFound } from './api-error.js';
import { newId, nowSeconds } from './ids.js';

export type FilePurpose = 'batch' | 'batch_output' | 'assistants' | 'fine-tune' | 'vision' | 'user_data' | 'evals';

/** The wire shape of OpenAI's file object (openai SDK `FileObject`). */
export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number | null;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  status_details: null;
}

interface StoredFile {
  object: FileObject;
  content: Buffer;
}

const THIRTY_DAYS = 30 * 24 * 3600;

/** In-memory files: content kept as one Buffer per file. */
export class FileStore {
  private readonly files = new Map<string, StoredFile>();

  create(filename: string, purpose: FilePurpose, content: Buffer, expiresAfterSeconds?: number): FileObject {
    const createdAt = nowSeconds();
    // Generated batch outputs expire after 30 days; uploads only when asked to.
    const lifetime = expiresAfterSeconds ?? (purpose === 'batch_output' ? THIRTY_DAYS : undefined);
    const object: FileObject = {
      id: newId('file-'),
      object: 'file',
      bytes: content.length,
      created_at: createdAt,
      expires_at: lifetime === undefined ? null : createdAt + lifetime,
      filename,
      purpose,
      status: 'processed',
      status_details: null,
    };
    this.files.set(object.id, { object, content });
    return { ...object };
  }

  /** Newest first, as OpenAI lists them. */
  list(purpose?: string | null): FileObject[] {
    return [...this.files.values()]
      .map((f) => f.object)
      .filter((f) => !purpose || f.purpose === purpose)
      .reverse();
  }

  get(id: string): FileObject {
    return { ...this.require(id).object };
  }

  content(id: string): Buffer {
    return this.require(id).content;
  }

  /** Undefined when the file is gone: a batch may outlive the deletion of its input file. */
  tryContent(id: string): Buffer | undefined {
    return this.files.get(id)?.content;
  }

  delete(id: string): void {
    this.require(id);
    this.files.delete(id);
  }

  private require(id: string): StoredFile {
    const file = this.files.get(id);
    if (!file) throw notFound(`No such File object: ${id}`);
    return file;
  }
}
