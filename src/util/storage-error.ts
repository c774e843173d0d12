/**
 * The one error family of the broker's and the client's storage backends (no `node:` import, so
 * the client core can name it in any runtime). Users match on `code`, never on message text.
 */

/** Every `StorageError` code, with what it means. */
export const STORAGE_ERROR_CODES = {
  /** The backend's module is not installed or cannot be loaded on this platform. */
  STORAGE_MODULE_MISSING: 'install the named optional module, or use the memory store',
  /** A file is corrupt, truncated or not a store of this kind; `file` names it. */
  STORAGE_CORRUPT: 'the file named by `file` cannot be read as a store; nothing was loaded',
  /** A read, write or fsync failed (disk full, permissions, …). */
  STORAGE_IO: 'the store could not read or write its file',
  /** An option of the store is invalid (a bad `sync` policy, an empty file name). */
  STORAGE_INVALID_OPTIONS: 'fix the named option',
  /** The store was used after `close()` or after a failure. */
  STORAGE_CLOSED: 'the store is closed or failed earlier',
} as const;

/** A `StorageError` code. */
export type StorageErrorCode = keyof typeof STORAGE_ERROR_CODES;

/** A failure of a storage backend: loading, committing, or using it after it closed or failed. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  /** The file concerned, when there is one. */
  readonly file: string | undefined;

  constructor(code: StorageErrorCode, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(options.file === undefined ? message : `${message} (${options.file})`, { cause: options.cause });
    this.code = code;
    this.file = options.file;
  }
}

/** Type guard: is `err` a `StorageError` (optionally with the given code)? */
export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
