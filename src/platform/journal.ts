import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** A JSON-lines file kept to about maxBytes: past it, the file moves to `<path>.1` (the one older generation kept). */
export interface JournalFile {
  readonly path: string;
  readonly maxBytes: number;
}

/**
 * Appends one record as one line and fsyncs it before returning: a decision written here survives the process
 * being killed the next instant (keepalived kills its scripts on stop). Synchronous on purpose.
 */
export function appendRecordSync(journal: JournalFile, record: object): void {
  mkdirSync(dirname(journal.path), { recursive: true });
  const line = `${JSON.stringify(record)}\n`;
  let fd = openSync(journal.path, 'a', 0o640);
  try {
    const size = fstatSync(fd).size;
    if (size > 0 && size + line.length > journal.maxBytes) {
      closeSync(fd);
      renameSync(journal.path, `${journal.path}.1`);
      fd = openSync(journal.path, 'a', 0o640);
    }
    writeSync(fd, line);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface JournalRead<T> {
  readonly records: readonly T[];
  /** One line per unreadable line: file, line number and why; the rest is still read. */
  readonly warnings: readonly string[];
}

/** Reads the older generation then the current file, oldest first; a torn or corrupt line is skipped with a warning. */
export function readRecords<T>(journal: JournalFile, accept: (value: unknown) => value is T): JournalRead<T> {
  const records: T[] = [];
  const warnings: string[] = [];
  for (const file of [`${journal.path}.1`, journal.path]) {
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (text.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        warnings.push(`${file}:${i + 1}: not JSON, skipped (${text.length} chars)`);
        return;
      }
      if (accept(value)) records.push(value);
      else warnings.push(`${file}:${i + 1}: not a record of this journal, skipped`);
    });
  }
  return { records, warnings };
}
