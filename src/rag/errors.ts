/**
 * Errors of the retrieval pipeline. Each names what it is about first (the file, the index
 * folder, the database URL) and then what was expected and what was found.
 */
import { QkvError } from '../tensor/errors.ts';

/**
 * A vector store refused an operation: a vector of the wrong dimension, an unreachable
 * database, a read-only (memory-mapped) index asked to change.
 */
export class QkvStoreError extends QkvError {
  /** The index folder, table or database the store is about. */
  readonly where: string;

  constructor(where: string, detail: string) {
    super(`${where}: ${detail}`);
    this.where = where;
  }
}
